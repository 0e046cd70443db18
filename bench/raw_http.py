"""A load generator's HTTP/1.1 client that costs the shared CPU little.

The benchmarks' servers, the fake model and the load generator share the machine's two
cores, so whatever the client spends per request is taken from the servers under test and
flattens every ratio between them. httpx's AsyncClient cost about 2.5-3 ms of CPU per
request here (docs/benchmarks.md); this client writes one prebuilt request and reads the
response to the end on a fresh connection (`Connection: close`, as nginx opens one per
request to the app), 0.5-0.9 ms. It is only for our own servers on 127.0.0.1:
no TLS, no redirects, no keep-alive.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit


class RawClient:
    def __init__(self, base_url: str, timeout: float = 120) -> None:
        parts = urlsplit(base_url)
        assert parts.scheme == "http" and parts.hostname is not None
        self.host = parts.hostname
        self.port = parts.port or 80
        self.timeout = timeout

    async def post(
        self, path: str, headers: dict[str, str], body: object = None
    ) -> tuple[int, bytes]:
        """(status, body) of one POST with a JSON body (or none)."""
        payload = b"" if body is None else json.dumps(body).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode() + payload
        async with asyncio.timeout(self.timeout):
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(request)
                raw = await reader.read(-1)  # to the server's close
            finally:
                writer.close()
        return _parse(raw)


def _parse(raw: bytes) -> tuple[int, bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ConnectionError("incomplete HTTP response")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    fields = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])
    }
    if fields.get(b"transfer-encoding") == b"chunked":
        body = _dechunk(body)
    elif b"content-length" in fields and len(body) != int(fields[b"content-length"]):
        raise ConnectionError("truncated HTTP response")
    return status, body


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, sep, rest = data.partition(b"\r\n")
        if not sep:
            raise ConnectionError("truncated chunked HTTP response")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        if len(rest) < size + 2:
            raise ConnectionError("truncated chunked HTTP response")
        out += rest[:size]
        data = rest[size + 2 :]
