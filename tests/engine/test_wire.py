"""The lean sender's transport against servers that answer in every way HTTP allows, and some it does not.

Each test starts a loopback server that writes exactly the bytes under test,
then sends through `wire.Pool` (or the LeanSender over it) and checks what the
engine would be told: the status, headers and body, or which failure.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from oaib_tui.engine import wire
from oaib_tui.engine.wire import Pool, WireFailure, WireTimeout, request_head, split_url

HERE = Path(__file__).parent
ANSWER = json.dumps({"id": "x", "choices": [{"message": {"content": "hi"}}]}).encode()

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    return head + await reader.readexactly(length)


def answer(body: bytes = ANSWER, *, status: str = "200 OK", headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n{headers}\r\n".encode() + body


class Server:
    """A loopback server that answers each request with what `respond(n, request)` returns (None: hang up)."""

    def __init__(self, respond: Callable[[int, bytes], bytes | None], tls: ssl.SSLContext | None = None,
                 *, hang_up: bool = False) -> None:
        self.respond, self.tls, self.hang_up = respond, tls, hang_up
        self.requests: list[bytes] = []
        self.connections = 0

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=self.tls)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}/v1/chat/completions?api-version=1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                request = await read_request(reader)
                self.requests.append(request)
                reply = self.respond(len(self.requests), request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if self.hang_up or b"connection: close" in reply.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def post(server: Server, pool: Pool | None = None, timeout_s: float = 5.0, body: bytes = b'{"n":1}') -> wire.Answer:
    origin, target = split_url(server.url)
    pool = pool or Pool(origin, idle_limit=4)
    return await pool.post(request_head(origin, target, {"authorization": "Bearer sk-1"}), body, timeout_s)


async def test_the_request_is_what_the_head_and_body_say():
    async with Server(lambda n, r: answer()) as server:
        reply = await post(server, body=b'{"model":"m"}')
    head, body = server.requests[0].split(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/chat/completions?api-version=1 HTTP/1.1"
    assert set(lines[1:]) == {f"host: {split_url(server.url)[0].host_header}", "authorization: Bearer sk-1",
                              "content-length: 13"}
    assert body == b'{"model":"m"}'
    assert (reply.status, json.loads(reply.content)) == (200, json.loads(ANSWER))


async def test_connections_are_kept_alive_and_reused():
    async with Server(lambda n, r: answer()) as server:
        origin, _ = split_url(server.url)
        pool = Pool(origin, idle_limit=4)
        for _ in range(20):
            assert (await post(server, pool)).status == 200
        together = await asyncio.gather(*(post(server, pool) for _ in range(3)))
        pool.close()
    assert [a.status for a in together] == [200] * 3
    assert pool.opened == server.connections == 3  # one for 20 in turn, two more for three at once


async def test_a_server_that_closes_after_each_answer_gets_a_new_connection_each_time():
    async with Server(lambda n, r: answer(headers="connection: close\r\n")) as server:
        origin, _ = split_url(server.url)
        pool = Pool(origin, idle_limit=4)
        statuses = [(await post(server, pool)).status for _ in range(5)]
    assert statuses == [200] * 5 and pool.opened == 5


async def test_chunked_gzip_deflate_and_read_to_close_bodies_are_read_whole():
    packed = gzip.compress(ANSWER)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (packed[:10], packed[10:])) + b"0\r\n\r\n"
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    replies = {
        "chunked gzip": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-encoding: gzip\r\n\r\n" + chunked,
        "deflate": answer(zlib.compress(ANSWER), headers="content-encoding: deflate\r\n"),
        "raw deflate": answer(raw_deflate.compress(ANSWER) + raw_deflate.flush(), headers="content-encoding: deflate\r\n"),
        "read to close": b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + ANSWER,
        "after 100 continue": b"HTTP/1.1 100 Continue\r\n\r\n" + answer(),
    }
    for name, reply in replies.items():
        async with Server(lambda n, r, reply=reply: reply) as server:
            got = await post(server)
        assert (got.status, got.content) == (200, ANSWER), name


@pytest.mark.parametrize("extra", [answer(), answer()[:20]], ids=["a whole second answer", "a part of one"])
async def test_a_connection_that_sends_more_than_the_answer_is_not_used_again(extra):
    async with Server(lambda n, r: answer() + extra if n == 1 else answer()) as server:
        origin, _ = split_url(server.url)
        pool = Pool(origin, idle_limit=4)
        first = await post(server, pool)
        assert not pool._idle  # the extra bytes came in the answer's own write: the connection is gone already
        second = await post(server, pool)
    assert (first.status, first.content, second.status, second.content) == (200, ANSWER, 200, ANSWER)
    assert pool.opened == 2


async def test_headers_keep_their_first_value_with_lower_case_names():
    async with Server(lambda n, r: answer(headers="Retry-After-Ms: 250\r\nX-Twice: 1\r\nx-twice: 2\r\n")) as server:
        got = await post(server)
    assert got.headers["retry-after-ms"] == "250" and got.headers["x-twice"] == "1"


MISBEHAVIOUR = {
    "hangs up": (None, "connection", "before answering"),
    "hangs up mid-body": (b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"half\":", "connection",
                          "in the middle of its answer"),
    "not HTTP": (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "connection", "not valid HTTP"),
    "endless headers": (b"HTTP/1.1 200 OK\r\n" + b"x-big: a\r\n" * 8000 + b"\r\n", "malformed", "headers are larger"),
    "bad gzip": (answer(b"not gzip", headers="content-encoding: gzip\r\n"), "malformed", "gzip body cannot be read"),
    "unasked encoding": (answer(b"{}", headers="content-encoding: br-unknown\r\n"), "malformed", "not an encoding"),
}


@pytest.mark.parametrize("case", MISBEHAVIOUR)
async def test_what_a_misbehaving_server_sends_is_a_failure_with_its_reason(case):
    reply, failure, words = MISBEHAVIOUR[case]
    async with Server(lambda n, r: reply, hang_up=True) as server:
        with pytest.raises(WireFailure) as caught:
            await post(server)
    assert caught.value.failure == failure and words in str(caught.value)


async def test_headers_that_never_end_are_refused_while_they_trickle_in():
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        try:
            for _ in range(2_000):  # 2,000 reads of 100 bytes each, never a blank line
                writer.write(b"x-more: " + b"a" * 90 + b"\r\n")
                await writer.drain()
                await asyncio.sleep(0)
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    origin = wire.Origin("http", "127.0.0.1", server.sockets[0].getsockname()[1])
    try:
        with pytest.raises(WireFailure) as caught:
            await Pool(origin, idle_limit=1).post(request_head(origin, "/", {}), b"{}", 10)
    finally:
        server.close()
    assert caught.value.failure == "malformed" and "headers are larger" in str(caught.value)


async def test_an_answer_larger_than_the_limit_is_refused_with_its_status(monkeypatch):
    monkeypatch.setattr(wire, "MAX_ANSWER_BYTES", 1000)
    bomb = gzip.compress(b" " * 5000)
    for reply in (answer(b"x" * 2000), answer(bomb, headers="content-encoding: gzip\r\n")):
        async with Server(lambda n, r, reply=reply: reply) as server:
            with pytest.raises(WireFailure) as caught:
                await post(server)
        assert (caught.value.failure, caught.value.status) == ("malformed", 200)
        assert "larger than" in str(caught.value)


async def test_a_silent_server_is_a_timeout_and_the_connection_is_not_reused():
    hold = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await hold.wait()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    origin = wire.Origin("http", "127.0.0.1", server.sockets[0].getsockname()[1])
    pool = Pool(origin, idle_limit=4)
    try:
        with pytest.raises(WireTimeout):
            await pool.post(request_head(origin, "/", {}), b"{}", 0.2)
        assert pool._take() is None
    finally:
        hold.set()
        server.close()


async def test_a_cancelled_request_closes_its_connection():
    first = asyncio.Event()
    release = asyncio.Event()

    async def holds_the_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            if not first.is_set():
                first.set()
                await release.wait()
            else:
                writer.write(answer())
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(holds_the_first, "127.0.0.1", 0)
    origin = wire.Origin("http", "127.0.0.1", server.sockets[0].getsockname()[1])
    pool = Pool(origin, idle_limit=4)
    try:
        task = asyncio.create_task(pool.post(request_head(origin, "/", {}), b"{}", 10))
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool._take() is None  # not kept: its answer could still arrive
        assert (await pool.post(request_head(origin, "/", {}), b"{}", 10)).status == 200
        assert pool.opened == 2
    finally:
        release.set()
        server.close()


async def test_no_server_is_a_connect_failure():
    origin = wire.Origin("http", "127.0.0.1", 9)
    with pytest.raises(WireFailure) as caught:
        await Pool(origin, idle_limit=1).post(request_head(origin, "/", {}), b"{}", 5)
    assert caught.value.failure == "connect"


def server_tls() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(HERE / "loopback_cert.pem", HERE / "loopback_key.pem")
    return context


async def test_https_is_verified_against_the_trusted_certificates(monkeypatch):
    async with Server(lambda n, r: answer(), tls=server_tls()) as server:
        origin, _ = split_url(server.url)
        with pytest.raises(WireFailure) as untrusted:
            await post(server, Pool(origin, idle_limit=1))
        monkeypatch.setenv("SSL_CERT_FILE", str(HERE / "loopback_cert.pem"))
        got = await post(server, Pool(origin, idle_limit=1))
    assert untrusted.value.failure == "connect" and "certificate verify failed" in str(untrusted.value)
    assert (got.status, got.content) == (200, ANSWER)


def test_a_header_that_would_split_the_request_is_refused():
    origin, target = split_url("http://127.0.0.1:1/v1/x")
    with pytest.raises(ValueError, match="line break"):
        request_head(origin, target, {"x-team": "a\r\nx-injected: 1"})
    assert split_url("https://[::1]/v1?q=1") == (wire.Origin("https", "::1", 443), "/v1?q=1")
    assert wire.Origin("https", "::1", 443).host_header == "[::1]"
    assert wire.Origin("http", "h", 8080).host_header == "h:8080"
