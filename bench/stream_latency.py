"""Streaming latency: time from the model emitting a token to the client receiving it,
through gunicorn + uvicorn worker, the app's SSE route and the real Gemini client.

The fake model stamps every chunk with its emit time; the client (same machine, same
clock) subtracts it from the arrival time.

    python -m bench.stream_latency [--streams 20]
"""

from __future__ import annotations

import argparse
import json
import re
import time

import httpx

from bench.harness import (
    emit,
    fake_gemini,
    gunicorn_app,
    script_fake,
    summary_ms,
)
from tests.helpers.accounts import register_and_login

STAMP = re.compile(r"\[(\d+\.\d+)\]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=20)
    args = parser.parse_args()
    delays: list[float] = []
    with fake_gemini() as gemini, gunicorn_app(gemini, workers=1) as app:
        script_fake(
            gemini,
            text=" ".join(["w"] * args.chunks),
            chunk_delay=0.05,
            stamp_chunks=True,
        )
        with httpx.Client(base_url=app.url, timeout=30) as client:
            headers = register_and_login(client, "streamer").headers
            conv = client.post("/session", headers=headers).json()["sessionId"]
            for _ in range(args.streams):
                with client.stream(
                    "POST",
                    "/chat/stream",
                    headers=headers,
                    json={"conversationId": conv, "message": "go"},
                ) as r:
                    for line in r.iter_lines():
                        if line.startswith("data:") and '"text"' in line:
                            arrived = time.time()
                            match = STAMP.search(json.loads(line[5:])["text"])
                            if match:
                                delays.append(arrived - float(match.group(1)))
    emit(
        "stream_latency",
        {"streams": args.streams, "tokens_measured": len(delays), **summary_ms(delays)},
    )


if __name__ == "__main__":
    main()
