"""bench/raw_http.py, the benchmarks' load client: it must read whole responses (sized or
chunked) and refuse cut-off ones, or the throughput figures would count failed turns."""

from __future__ import annotations

import asyncio

import pytest

from bench.raw_http import RawClient

SIZED = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n"
    b'{"answer": "hi"}'
)
CHUNKED = (
    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'6\r\n{"sess\r\n9;ext=1\r\nionId": 1\r\n1\r\n}\r\n0\r\n\r\n'
)
TRUNCATED = b'HTTP/1.1 200 OK\r\ncontent-length: 16\r\n\r\n{"ans'
TRUNCATED_CHUNKED = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{"ans'


async def _answer_with(response: bytes, path: str = "/chat") -> tuple[tuple[int, bytes], bytes]:
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        received.append(head + await reader.readexactly(length))
        writer.write(response)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        result = await RawClient(f"http://127.0.0.1:{port}", timeout=10).post(
            path, {"Authorization": "Bearer t"}, {"message": "é"}
        )
    return result, received[0]


def test_a_sized_response_is_read_whole_and_the_request_is_well_formed() -> None:
    (status, body), request = asyncio.run(_answer_with(SIZED))
    assert (status, body) == (200, b'{"answer": "hi"}')
    assert request.startswith(b"POST /chat HTTP/1.1\r\n")
    assert b"Authorization: Bearer t\r\n" in request and b"Connection: close\r\n" in request
    assert request.endswith(b'\r\n\r\n{"message": "\\u00e9"}')


def test_a_chunked_response_is_decoded() -> None:
    (status, body), _ = asyncio.run(_answer_with(CHUNKED, "/session"))
    assert (status, body) == (201, b'{"sessionId": 1}')


@pytest.mark.parametrize("response", [TRUNCATED, TRUNCATED_CHUNKED, b"HTTP/1.1 200 OK\r\n"])
def test_a_cut_off_response_is_an_error_not_a_turn(response: bytes) -> None:
    with pytest.raises(ConnectionError):
        asyncio.run(_answer_with(response))
