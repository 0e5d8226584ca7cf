"""httpx's connections on asyncio's own transports: an httpcore network backend.

httpx sends through httpcore, whose default backend on asyncio is AnyIO. For each request
its connection pool asks every pooled connection whether the server closed it, and AnyIO
answers by building a table of all the socket's attributes (a ``getpeername`` call
included) to find the socket; reads and writes each open a cancel scope. On a warm fleet
run, where every answer is a small ``304``, that was about a third of the client's CPU per
request (encode/httpx#3215). This backend (``network_backend`` of httpcore's connection
pool) holds the socket itself and reads through an ``asyncio.Protocol``, with the same
contract: the same httpcore exceptions for the same failures (``ConnectError``,
``ConnectTimeout``, ``ReadError``, ``ReadTimeout``, ``WriteError``, ``WriteTimeout``),
``b""`` at the end of the stream, TLS through ``loop.start_tls`` with the SSL context httpx
made (so ``SSL_CERT_FILE`` and certificate checks are as before), and a connection is
"readable" while idle (the server closed it or sent something unasked) exactly when it was.

:func:`transport` gives the ``httpx.AsyncHTTPTransport`` that uses it, or ``None`` when a
proxy is configured in the environment: httpx honours ``HTTPS_PROXY`` and friends only for
a client it builds its own transport for, so that case keeps httpx's default.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)
READ_HIGH_WATER = 256 * 1024  # bytes buffered unread before the socket is paused


class _Protocol(asyncio.Protocol):
    """What arrived on one connection and whether it may be written to."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False  # the server closed its side, or the connection is gone
        self.error: Exception | None = None  # the connection was lost with this
        self.reading_paused = False
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > READ_HIGH_WATER and self.transport is not None:
            with contextlib.suppress(RuntimeError, AttributeError):
                self.transport.pause_reading()
                self.reading_paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake_reader()
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_reader(self) -> None:
        waiter, self._readable = self._readable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_readable(self) -> None:
        waiter = self._readable = asyncio.get_running_loop().create_future()
        await waiter

    @property
    def writing_paused(self) -> bool:
        return self._writable is not None

    async def wait_writable(self) -> None:
        if self._writable is not None:
            await asyncio.shield(self._writable)


@contextlib.contextmanager
def _failing_as(timeout_error: type[Exception], error: type[Exception]) -> Iterator[None]:
    """OS and TLS failures as httpcore's ``error``, an expired timeout as ``timeout_error``."""
    try:
        yield
    except TimeoutError as exc:
        raise timeout_error(str(exc) or "timed out") from exc
    except (OSError, ssl.SSLError, EOFError) as exc:
        raise error(str(exc) or type(exc).__name__) from exc


class Stream(httpcore.AsyncNetworkStream):
    """One connection, plain or TLS, as httpcore reads and writes it."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        raw = transport.get_extra_info("socket")
        self._fd = raw.fileno() if raw is not None else -1

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        p = self._protocol
        if not p.buffer and not p.eof:
            with _failing_as(httpcore.ReadTimeout, httpcore.ReadError):
                async with asyncio.timeout(timeout):
                    await p.wait_readable()
        if p.buffer:
            data = bytes(p.buffer[:max_bytes])
            del p.buffer[:max_bytes]
            if p.reading_paused and len(p.buffer) <= READ_HIGH_WATER // 2:
                p.reading_paused = False
                with contextlib.suppress(RuntimeError, AttributeError):
                    self._transport.resume_reading()
            return data
        if p.error is not None:  # reset, not closed: AnyIO's BrokenResourceError
            raise httpcore.ReadError(str(p.error) or type(p.error).__name__)
        return b""  # the end of the stream

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        p = self._protocol
        if self._transport.is_closing():
            why = p.error or "the connection is closed"
            raise httpcore.WriteError(str(why) or type(why).__name__)
        self._transport.write(buffer)
        if p.writing_paused:  # the kernel's buffer is full: wait until it drains
            with _failing_as(httpcore.WriteTimeout, httpcore.WriteError):
                async with asyncio.timeout(timeout):
                    await p.wait_writable()
        if p.error is not None:
            raise httpcore.WriteError(str(p.error) or type(p.error).__name__)

    async def aclose(self) -> None:
        # as AnyIO closes a connection: close, let the loop finish it, then drop what is left
        # (no TLS close_notify awaited, as httpcore asks AnyIO for none)
        if not self._transport.is_closing():
            self._transport.close()
            await asyncio.sleep(0)
        self._transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            with _failing_as(httpcore.ConnectTimeout, httpcore.ConnectError):
                async with asyncio.timeout(timeout):
                    tls = await loop.start_tls(
                        self._transport,
                        self._protocol,
                        ssl_context,
                        server_hostname=server_hostname,
                    )
        except BaseException:
            self._transport.close()
            raise
        if tls is None:  # pragma: no cover - the loop closed the connection meanwhile
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(tls, asyncio.Transport)
        return Stream(tls, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._is_readable()
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None

    def _is_readable(self) -> bool:
        """Has the server closed this (idle) connection or sent something unasked? What
        arrived already, or what waits in the socket for the loop to take it."""
        p = self._protocol
        if p.buffer or p.eof or p.error is not None or self._fd < 0:
            return True
        poll = select.poll()
        poll.register(self._fd, select.POLLIN)
        return bool(poll.poll(0))


class Backend(httpcore.AsyncNetworkBackend):
    """Connections for httpcore's pool, on the running asyncio loop."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        with _failing_as(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=0.25,  # as AnyIO connects
                )
            _set_options(transport, socket_options)
        return Stream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - wscfg never sets uds
        loop = asyncio.get_running_loop()
        with _failing_as(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_unix_connection(_Protocol, path)
            _set_options(transport, socket_options)
        return Stream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _set_options(transport: asyncio.Transport, options: Iterable[SocketOption] | None) -> None:
    raw: socket.socket | None = transport.get_extra_info("socket")
    for option in options or ():
        if raw is not None:
            raw.setsockopt(*option)


class Transport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` (HTTP/1.1) whose pool connects through :class:`Backend`."""

    def __init__(self, limits: httpx.Limits, tls: bool = True) -> None:
        """``tls``: the server is an ``https://`` one. Without it no connection of this
        transport ever speaks TLS (it only reaches the client's own origin: no proxy, no
        redirect elsewhere), so the certificate store is not loaded (~0.05 s of CPU): the
        context it holds trusts no certificate at all."""
        if tls:
            context = httpx.create_ssl_context(verify=True, trust_env=True)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, and trusts nothing
        super().__init__(verify=context, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=Backend(),
        )


def transport(limits: httpx.Limits, tls: bool = True) -> httpx.AsyncBaseTransport | None:
    """The transport for a client without a proxy (``tls``: of an ``https://`` server);
    ``None`` (httpx's own, which honours the environment's proxies) when one is configured."""
    if urllib.request.getproxies():
        return None
    return Transport(limits, tls)
