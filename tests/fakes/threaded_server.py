"""An ASGI app under a real uvicorn, served from a background thread of the test process.

The socket is bound at construction, so the port (and `url`) is known before `start()`.
Used by the fake Gemini server and by service tests that need real sockets.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Literal, Self

import uvicorn
from starlette.types import ASGIApp


class ThreadedServer:
    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        lifespan: Literal["auto", "on", "off"] = "auto",
        force_exit: bool = False,
    ) -> None:
        self.host = host
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self._sock = sock
        self.port = sock.getsockname()[1]
        # force_exit: don't wait for open requests at stop (a scripted hang never ends).
        self._force_exit = force_exit
        config = uvicorn.Config(app, log_level="warning", lifespan=lifespan)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def run_forever(self) -> None:
        """Serve in the calling thread until stopped (what `start` runs in the background)."""
        self._server.run(sockets=[self._sock])

    def start(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = self._force_exit
        self._thread.join(timeout=10)
