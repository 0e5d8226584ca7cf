"""One attempt of a request over the wire (:mod:`wscfg.api.client` retries around it).

Redirects
    Never followed automatically (``follow_redirects=False``). A ``GET``/``HEAD`` redirected to
    the *same origin* (scheme, host and port of the base URL) is followed, at most
    ``max_redirects`` hops; a redirect to any other origin, or of any write, is a
    :class:`~wscfg.errors.ProtocolError` and nothing is sent to the other host. The key is
    added per request and only to requests for the base origin.

Responses
    Bodies are read streaming and abandoned past a cap (``max_response_bytes``, 32 MiB;
    ``max_snapshot_bytes``, 128 MiB for ``…/settings``; error bodies are read up to 1 MiB and
    truncated). Memory for a whole run is bounded, whatever ``--parallel`` is: every read may
    hold ``read_allowance`` (1 MiB) on its own; past that it takes the run's one large-read
    slot, so at most one answer at a time grows beyond 1 MiB. Bytes held by reads in flight:
    at most ``max_concurrency`` × 1 MiB + 2 × the cap (the one large answer and its final copy;
    see docs/reliability.md, "Memory"). A parsed answer holds at most ``MAX_JSON_VALUES``
    values (:meth:`~wscfg.api.wire.Response.json`).

    Each attempt has ``timeout`` (30 s) per network operation and ``attempt_timeout`` (60 s)
    for the whole exchange, and a request has ``request_deadline`` (150 s) for all its attempts
    and waits together, so a trickling answer cannot hang a run.
    A 2xx body must be JSON (by Content-Type and by parsing; ``NaN``/``Infinity`` refused).
    Every response to a workspace-scoped request must carry ``Wscfg-Workspace`` equal to the
    slug asked for (2xx: required; errors: if present) or it is discarded with a
    :class:`~wscfg.errors.ProtocolError`. Non-2xx answers become the
    :data:`~wscfg.errors.STATUS_ERRORS` subclass, parsed from problem+json (other bodies
    tolerated).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import httpx

from wscfg.errors import ProtocolError

from .pacing import Pacer
from .problems import scrub
from .wire import ApiStats, Response, Secret

log = logging.getLogger("wscfg.api")

MiB = 1024 * 1024
ERROR_BODY_CAP = 1 * MiB
READ_ALLOWANCE = 1 * MiB  # what a read holds without the run's large-read slot
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

try:
    from importlib.metadata import version as _pkg_version

    USER_AGENT = f"wscfg/{_pkg_version('wscfg')}"
except Exception:  # pragma: no cover - running from a source tree without metadata
    USER_AGENT = "wscfg"


@dataclass
class Call:
    method: str
    url: httpx.URL
    route: str
    content: bytes | None
    headers: dict[str, str]
    workspace: str | None
    max_bytes: int
    retryable: bool
    secrets: tuple[str, ...]
    accept_after_retry: frozenset[int]
    accept: frozenset[int] = frozenset()


class Wire:
    """The connection pool of a run and one attempt over it: at most ``max_concurrency``
    requests in flight, same-origin redirects of reads followed, answers read up to a cap,
    and at most one answer at a time past ``read_allowance`` bytes (the large-read slot)."""

    def __init__(
        self,
        base_url: str,
        token: Secret,
        *,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        max_concurrency: int,
        read_allowance: int,
        max_redirects: int,
        stats: ApiStats,
        pacer: Pacer,
    ) -> None:
        self.token = token
        self.origin = origin_of(httpx.URL(base_url))
        self.read_allowance = read_allowance
        self.max_redirects = max_redirects
        self.stats = stats
        self.pacer = pacer
        self.reached = False  # has the server answered anything yet in this run?
        # the run's one large-read slot: a read past `read_allowance` bytes holds it until done
        self._large_read = asyncio.Lock()
        self._semaphore = asyncio.Semaphore(max_concurrency)
        limits = httpx.Limits(
            max_connections=max_concurrency, max_keepalive_connections=max_concurrency
        )
        if transport is None:
            from .netio import transport as asyncio_transport

            transport = asyncio_transport(limits, tls=self.origin[0] == "https")
        self.http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            limits=limits,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            # trust_env (default): HTTPS_PROXY/NO_PROXY and SSL_CERT_FILE are honoured, as curl
            # and Terraform do; the key still only ever goes to the configured origin.
        )

    def secrets(self, call: Call) -> tuple[str, ...]:
        """What server text is scrubbed of for ``call``: the key and the call's secrets."""
        return (self.token.reveal(), *call.secrets)

    async def attempt(self, call: Call, attempt: int) -> Response:
        url = call.url
        for _hop in range(self.max_redirects + 1):
            if origin_of(url) != self.origin:  # pragma: no cover - _redirect_target refuses first
                raise ProtocolError("refusing to send the key to another host", url=str(url))
            started = time.monotonic()
            async with self._semaphore:
                self.stats.requests[call.method] += 1
                self.stats.routes[call.route] += 1
                request = self.http.build_request(
                    call.method, url, headers=self._headers(call), content=call.content
                )
                response = await self.http.send(request, stream=True)
                try:
                    status = response.status_code
                    location = None
                    body = b""
                    if status in REDIRECT_STATUSES:
                        location = response.headers.get("location")
                    else:
                        ok = 200 <= status < 300
                        if not ok:  # an error answer is classified by its status
                            self._check_workspace(call, response, str(url))
                        body = await self._read(
                            response,
                            call.max_bytes if ok else ERROR_BODY_CAP,
                            truncate=not ok,
                            call=call,
                        )
                        # A success is checked once complete: a connection dropped part-way
                        # through it is a transport failure (retried), not a foreign answer.
                        if ok:
                            self._check_workspace(call, response, str(url))
                finally:
                    await response.aclose()
            self.reached = True
            self.pacer.observe(response.headers)
            elapsed_ms = (time.monotonic() - started) * 1000
            log.debug(
                "%s %s -> %d (attempt %d, %.1f ms)",
                call.method,
                path_of(url),
                status,
                attempt,
                elapsed_ms,
            )
            if status in REDIRECT_STATUSES:
                url = self._redirect_target(call, url, location)
                continue
            return Response(
                method=call.method,
                url=str(url),
                status=status,
                headers=response.headers,
                body=body,
                attempts=attempt,
            )
        raise ProtocolError(
            f"the server redirected more than {self.max_redirects} times",
            method=call.method,
            url=str(call.url),
        )

    def _headers(self, call: Call) -> dict[str, str]:
        return {**call.headers, "Authorization": "Bearer " + self.token.reveal()}

    def _redirect_target(self, call: Call, url: httpx.URL, location: str | None) -> httpx.URL:
        if not location:
            raise ProtocolError(
                "the server sent a redirect without a Location", method=call.method, url=str(url)
            )
        try:
            target = url.join(location)
        except (httpx.InvalidURL, ValueError):
            raise ProtocolError(
                "the server sent a redirect to an invalid URL", method=call.method, url=str(url)
            ) from None
        if origin_of(target) != self.origin:
            where = f"{target.scheme}://{target.host}" + (f":{target.port}" if target.port else "")
            raise ProtocolError(
                f"refused a redirect to another host ({scrub(where, limit=200)}); the API key "
                "is only ever sent to the configured server",
                method=call.method,
                url=str(url),
            )
        if call.method not in ("GET", "HEAD"):
            raise ProtocolError(
                "the server answered a write with a redirect; writes are never redirected",
                method=call.method,
                url=str(url),
            )
        return target

    def _check_workspace(self, call: Call, response: httpx.Response, url: str) -> None:
        if call.workspace is None:
            return
        got = response.headers.get("wscfg-workspace")
        ok = 200 <= response.status_code < 300
        if got is None:
            if ok:
                raise ProtocolError(
                    "the answer does not say which workspace it belongs to (no Wscfg-Workspace "
                    f"header; expected {call.workspace!r}); it was discarded",
                    method=call.method,
                    url=url,
                )
            return
        if got != call.workspace:
            other = scrub(got, self.secrets(call), limit=80)
            raise ProtocolError(
                f"the answer belongs to workspace {other!r}, not {call.workspace!r}; "
                "it was discarded",
                method=call.method,
                url=url,
            )

    async def _read(
        self, response: httpx.Response, cap: int, *, truncate: bool, call: Call
    ) -> bytes:
        declared = response.headers.get("content-length", "")
        if not truncate and declared.isdigit() and int(declared) > cap:
            raise ProtocolError(
                f"the answer is too large ({int(declared)} bytes announced, limit {cap})",
                method=call.method,
                url=str(response.request.url),
            )
        buf = bytearray()
        large = False  # holding the large-read slot?
        try:
            async for chunk in response.aiter_bytes():
                size = len(buf) + len(chunk)
                if size > cap:
                    if truncate:
                        buf += chunk[: cap - len(buf)]
                        break
                    del buf  # an error kept by the caller keeps this frame, not the bytes
                    raise ProtocolError(
                        f"the answer is too large (more than {cap} bytes); reading stopped",
                        method=call.method,
                        url=str(response.request.url),
                    )
                if not large and size > self.read_allowance:
                    await self._large_read.acquire()
                    large = True
                buf += chunk
            self.stats.bytes_received += len(buf)
            return bytes(buf)  # the copy is made while the slot is held
        finally:
            if large:
                self._large_read.release()


def origin_of(url: httpx.URL) -> tuple[str, str, int | None]:
    scheme = url.scheme.lower()
    port = url.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, url.host.lower(), port


def path_of(url: httpx.URL) -> str:
    """The path as sent (still percent-encoded), with its query."""
    return url.raw_path.decode("ascii", errors="replace")


def describe(exc: BaseException, secrets: tuple[str, ...]) -> str:
    text = scrub(str(exc), secrets, limit=200)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
