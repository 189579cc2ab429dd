"""HTTP/1.1 over kept-alive connections: the lean sender's transport.

A general HTTP client builds a request object, a response object, cookie,
redirect and tracing machinery for every request; at thousands of requests a
second that bookkeeping costs more CPU than everything else the engine does.
This module does only what a POST to an OpenAI-style API needs: write the
request bytes on an idle connection (or a new one, TLS where the URL says
https), and let httptools' C parser (llhttp) read the answer — Content-Length,
chunked or read-to-close bodies, keep-alive — into a status, headers and bytes.
Answers compressed with gzip or deflate are decompressed (the SDK's headers
accept those two).

Everything a server can do wrong ends as a `WireFailure` (never connected,
dropped, malformed) or a `WireTimeout`; nothing it sends can grow without bound.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

import httptools

from .headers import LowerCaseNames
from .retry import Failure

MAX_HEADER_BYTES = 64 * 1024
"""Status line and headers of one answer, at most (aiohttp allows 8 KiB a line)."""
MAX_ANSWER_BYTES = 64 * 1024 * 1024
"""One answer's body, at most, before and after decompression."""


class WireTimeout(Exception):
    """No whole answer within the attempt's time."""


class WireFailure(Exception):
    """No usable answer: `failure` is `connect` (never connected), `connection` (dropped) or `malformed`."""

    def __init__(self, failure: Failure, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.failure = failure
        self.status = status
        """The answer's status, when one came with a body that cannot be used."""


class Answer(NamedTuple):
    status: int
    headers: LowerCaseNames
    """A name sent twice keeps its first value."""
    content: bytes


class Origin(NamedTuple):
    """Where requests go: one pool of connections per origin."""

    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def split_url(url: str) -> tuple[Origin, str]:
    """The origin and the request target (path and query) of an http or https URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http or https URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Origin(parts.scheme, parts.hostname, port), target


def request_head(origin: Origin, target: str, headers: Mapping[str, str]) -> bytes:
    """A POST's request line and headers, up to the Content-Length value the body completes."""
    lines = [f"POST {target} HTTP/1.1", f"host: {origin.host_header}"]
    for name, value in headers.items():
        if any(c in name + value for c in "\r\n\0") or ":" in name:
            raise ValueError(f"the header {name!r} cannot be sent: it has a line break or a colon in its name")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\ncontent-length: ").encode("latin-1")


class _Connection(asyncio.Protocol):
    """One connection: carries one request at a time, and parses its answer as the bytes arrive."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._waiter: asyncio.Future[Answer] | None = None
        self._status = 0
        self._names: list[bytes] = []
        self._values: list[bytes] = []
        self._header_bytes = 0
        """Bytes read before the headers were complete, up to the read now parsed."""
        self._reading = 0
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._headers_done = False

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the connection cannot be trusted any more
            self.abort()
            return
        self._reading = len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            if isinstance(error.__context__, _TooLarge):  # raised by one of our callbacks below
                self._fail(WireFailure("malformed", str(error.__context__), self._status or None))
            elif self._waiter is None:  # an answer nobody asked for, after the one that was: never reuse this
                self.abort()
            else:
                self._fail(WireFailure("connection", f"the server's answer is not valid HTTP: {error}"))
            return
        if not self._headers_done:  # counted per read, not per header: the callbacks are the hot path
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._fail(WireFailure("malformed", f"the answer's headers are larger than {MAX_HEADER_BYTES // 1024} KiB"))

    def eof_received(self) -> bool:
        return False  # close our side too: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.forget(self)
        if self._waiter is None or self._waiter.done():
            return
        if self._headers_done and self._read_to_close():
            self._complete()
            return
        where = "in the middle of its answer" if self._headers_done else "before answering"
        self._fail(WireFailure("connection", f"connection failed: the server closed the connection {where}"))

    # -- one exchange ------------------------------------------------------------------------

    def send(self, data: bytes, waiter: asyncio.Future[Answer]) -> None:
        self._waiter = waiter
        self._status, self._names, self._values, self._header_bytes = 0, [], [], 0
        self._body, self._body_bytes, self._headers_done = [], 0, False
        assert self.transport is not None
        self.transport.write(data)

    def abort(self) -> None:
        self.closed = True
        self._pool.forget(self)
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, error: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            self.abort()  # timed out or cancelled while the answer arrived
            return
        headers = _headers(self._names, self._values)
        content = b"".join(self._body)
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", ""):
            try:
                content = _decoded(content, encoding)
            except (zlib.error, _TooLarge, LookupError) as error:
                self.abort()
                waiter.set_exception(WireFailure("malformed", f"the answer's {encoding} body cannot be read: {error}",
                                                 self._status))
                return
        waiter.set_result(Answer(self._status, headers, content))

    # -- httptools' callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._waiter is None:  # more than one answer to one request
            raise _Unasked()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._names.append(name)
        self._values.append(value)

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self._headers_done = True
        if self._header_bytes + self._reading > MAX_HEADER_BYTES and (
                sum(map(len, self._names)) + sum(map(len, self._values)) + 4 * len(self._names) > MAX_HEADER_BYTES):
            raise _TooLarge(f"the answer's headers are larger than {MAX_HEADER_BYTES // 1024} KiB")

    def on_body(self, chunk: bytes) -> None:
        self._body_bytes += len(chunk)
        if self._body_bytes > MAX_ANSWER_BYTES:
            raise _TooLarge(f"the answer is larger than {MAX_ANSWER_BYTES // 2**20} MiB")
        self._body.append(chunk)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:  # an interim answer (100 Continue): the real one follows
            self._status, self._names, self._values, self._headers_done = 0, [], [], False
            return
        keep = self._parser.should_keep_alive()
        self._complete()
        if keep and not self.closed:
            self._pool.release(self)
        elif not self.closed:
            self.abort()

    def _read_to_close(self) -> bool:
        """Whether the answer's body is framed by the connection's end (no length, not chunked)."""
        names = {name.lower() for name in self._names}
        return b"content-length" not in names and b"transfer-encoding" not in names


class _TooLarge(Exception):
    pass


class _Unasked(Exception):
    pass


def _headers(names: list[bytes], values: list[bytes]) -> LowerCaseNames:
    """Names lower-cased; a name sent twice keeps its first value. Decoded all at once, joined by line breaks,
    which llhttp lets into no name or value (per header, decoding was a tenth of the hot path)."""
    lowered = b"\n".join(names).decode("latin-1").lower().split("\n")
    decoded = b"\n".join(values).decode("latin-1").split("\n")
    if len(lowered) != len(names) or len(decoded) != len(values):  # no header, or a line break after all
        lowered = [name.decode("latin-1").lower() for name in names]
        decoded = [value.decode("latin-1") for value in values]
    lowered.reverse()
    decoded.reverse()
    return LowerCaseNames(zip(lowered, decoded))


def _decoded(content: bytes, encoding: str) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":  # zlib-wrapped, as the standard says, or raw, as some servers send it
        decoder = zlib.decompressobj(zlib.MAX_WBITS if content[:1] == b"\x78" else -zlib.MAX_WBITS)
    else:
        raise LookupError(f"{encoding} is not an encoding the request accepted")
    out = decoder.decompress(content, MAX_ANSWER_BYTES)
    if decoder.unconsumed_tail:
        raise _TooLarge(f"it is larger than {MAX_ANSWER_BYTES // 2**20} MiB")
    return out


class Pool:
    """Kept-alive connections to one origin; at most `idle_limit` idle ones are kept."""

    def __init__(self, origin: Origin, *, idle_limit: int) -> None:
        self.origin = origin
        self._idle: list[_Connection] = []
        self._idle_limit = idle_limit
        self._tls = ssl.create_default_context() if origin.scheme == "https" else None
        self._all: set[_Connection] = set()
        self.opened = 0
        """Connections opened so far (tests read it)."""

    async def post(self, head: bytes, body: bytes, timeout_s: float) -> Answer:
        """Send `head` (see request_head) and `body`; the whole answer within `timeout_s`, or WireTimeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        connection = self._take() or await self._open(deadline)
        waiter: asyncio.Future[Answer] = loop.create_future()
        timer = loop.call_at(deadline, _expire, connection, waiter)
        connection.send(b"%s%d\r\n\r\n%s" % (head, len(body), body), waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            connection.abort()  # the answer would arrive on a connection nobody reads
            raise
        finally:
            timer.cancel()

    def release(self, connection: _Connection) -> None:
        if len(self._idle) < self._idle_limit:
            self._idle.append(connection)
        else:
            connection.abort()

    def forget(self, connection: _Connection) -> None:
        self._all.discard(connection)
        if connection in self._idle:
            self._idle.remove(connection)

    def close(self) -> None:
        for connection in list(self._all):
            connection.abort()
        self._idle.clear()

    def _take(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return None

    async def _open(self, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        origin = self.origin
        try:
            async with asyncio.timeout_at(deadline):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self), origin.host, origin.port, ssl=self._tls,
                    server_hostname=origin.host if self._tls is not None else None)
        except TimeoutError:
            raise WireTimeout() from None
        except (OSError, ssl.SSLError) as error:
            raise WireFailure("connect", f"cannot connect: {error}") from error
        self.opened += 1
        self._all.add(connection)
        return connection


def _expire(connection: _Connection, waiter: asyncio.Future[Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(WireTimeout())
        connection.abort()
