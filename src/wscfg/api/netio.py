"""httpx's connections with a cheap "was it closed?" check: an httpcore network backend.

httpx sends through httpcore, whose default backend on asyncio is AnyIO. Before each request
its connection pool asks every pooled idle connection whether the server closed it, and
AnyIO answers by building a table of all the socket's attributes (a ``getpeername`` system
call included) only to find the socket (encode/httpx#3215). On a warm fleet run, where every
answer is a small ``304``, that was a sizeable share of the client's CPU per request.

This backend is AnyIO's own (:class:`httpcore.AnyIOBackend`: every read, write, timeout,
TLS handshake and error is AnyIO's and httpcore's, unchanged); each connection it makes is
wrapped so that the one question ``is_readable`` is answered by polling the socket it
already knows, as httpcore's synchronous backend does. Everything else passes through.

:func:`transport` gives the ``httpx.AsyncHTTPTransport`` that uses it, or ``None`` when a
proxy is configured in the environment: httpx honours ``HTTPS_PROXY`` and friends only for
a client it builds its own transport for, so that case keeps httpx's default.
"""

from __future__ import annotations

import select
import ssl
import urllib.request
from typing import Any

import httpcore
import httpx

_POLL = hasattr(select, "poll")  # not on Windows: there AnyIO's own answer is asked


class Stream(httpcore.AsyncNetworkStream):
    """One of AnyIO's connections, with ``is_readable`` answered from its socket."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        raw = inner.get_extra_info("socket")
        self._fd: int = raw.fileno() if raw is not None else -1

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._fd >= 0 and _POLL:
            # an idle connection is readable when the server closed it or sent something
            # unasked: either way the pool must not reuse it (what AnyIO's answer means)
            poll = select.poll()
            poll.register(self._fd, select.POLLIN)
            return bool(poll.poll(0))
        return self._inner.get_extra_info(info)


class Backend(httpcore.AnyIOBackend):
    """AnyIO's connections for httpcore's pool, each wrapped in :class:`Stream`."""

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return Stream(await super().connect_tcp(*args, **kwargs))


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
