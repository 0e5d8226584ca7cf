"""The HTTP client for the Workspace Settings API (docs/api.md): one pool, one retry layer.

One :class:`ApiClient` serves a whole run (one workspace or a fleet of hundreds): a single
``httpx.AsyncClient`` (one connection pool), a single ``asyncio.Semaphore`` bounding requests in
flight, and a single :class:`~wscfg.api.retry.RetryBudget`. ``client.workspace(slug)`` gives the
per-workspace operations (:class:`~wscfg.api.workspace.WorkspaceClient`).

Behaviour (the contract other floors rely on; tests in tests/api/ prove each line):

Retries (:mod:`wscfg.api.retry`)
    ===========================  ==============================================================
    request                      retried after
    ===========================  ==============================================================
    GET, HEAD, PUT, DELETE       transport errors; 408, 429, 500, 502, 503, 504
    PATCH with If-Match          same
    POST with Idempotency-Key    same (every POST this client makes carries one)
    PATCH without If-Match       connect failures only (nothing was sent); never after a reply
    any request                  connect failures (ConnectError/ConnectTimeout/PoolTimeout)
    ===========================  ==============================================================

    500 is retried because only idempotent requests are retried at all: a repeat cannot do
    harm, and the fault-injecting sandbox produces transient 500s. Retry-After is honoured on
    any retried status; a wait above the cap fails the request instead of retrying early.
    After a retry, some answers mean "my earlier attempt already did it" and are handled by
    :class:`~wscfg.api.workspace.WorkspaceClient` (412 on PATCH, 404 on DELETE, 409 on create:
    see there). A write that finally fails after an attempt whose outcome is unknown (a reset,
    a timeout, a 5xx answer: the server may have committed first) says "the change may or may
    not have been made" and carries ``maybe_applied = True``, for apply's report.

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

Secrets
    The key is never in a message, ``repr``, log line or exception; server-provided text is
    scrubbed of it (and of any write-only value sent with the request) before it is shown.

Logging
    Logger ``wscfg.api``: DEBUG per exchange (method, path, status, attempt, elapsed), INFO per
    retry (why, wait). Never headers or bodies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from wscfg.errors import HTTPStatusError, ProtocolError, TransportError

from . import redact
from .pacing import Pacer
from .problems import problem_error, scrub
from .retry import RetryBudget, RetryPolicy, is_retryable_request
from .settings import validate_base_url, validate_token
from .wire import (
    ApiStats,
    Response,
    Secret,
    new_idempotency_key,
    quote_etag,
    with_etag,
)

if TYPE_CHECKING:
    from .workspace import WorkspaceClient

log = logging.getLogger("wscfg.api")

MiB = 1024 * 1024
ERROR_BODY_CAP = 1 * MiB
READ_ALLOWANCE = 1 * MiB  # what a read holds without the run's large-read slot
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_NEVER_RETRY = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)

try:
    from importlib.metadata import version as _pkg_version

    USER_AGENT = f"wscfg/{_pkg_version('wscfg')}"
except Exception:  # pragma: no cover - running from a source tree without metadata
    USER_AGENT = "wscfg"


@dataclass
class _Call:
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


class ApiClient:
    """Talks to one Workspace Settings API with one key. Use as ``async with``.

    ``transport`` is the seam for the embedded sandbox (``httpx.ASGITransport``); tests and real
    use leave it ``None`` and go over the network.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_concurrency: int = 16,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        max_response_bytes: int = 32 * MiB,
        max_snapshot_bytes: int = 128 * MiB,
        read_allowance: int = READ_ALLOWANCE,
        max_redirects: int = 3,
        attempt_timeout: float | None = 60.0,
        request_deadline: float | None = 150.0,
        rate_limit: float | None = None,
        hint_base_url: bool = True,
        apply_keys: Iterable[str] | None = None,
    ) -> None:
        """``hint_base_url``: a 404 before any 2xx answer says the base URL may be wrong (off
        for the embedded sandbox, whose URL the user never gave). ``apply_keys``: the ids of
        other keys wscfg applies with (default: ``WSCFG_APPLY_KEY_IDS``), see
        :meth:`wscfg_keys`."""
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.base_url = validate_base_url(base_url)
        validate_token(token)
        self._token = Secret(token)
        redact.register(token)
        self._closed = False
        self._base = httpx.URL(self.base_url)
        self._origin = _origin(self._base)
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max_concurrency
        self.max_response_bytes = max_response_bytes
        self.max_snapshot_bytes = max_snapshot_bytes
        self.read_allowance = read_allowance
        # the run's one large-read slot: a read past `read_allowance` bytes holds it until done
        self._large_read = asyncio.Lock()
        self.max_redirects = max_redirects
        self.attempt_timeout = attempt_timeout
        self.request_deadline = request_deadline
        if apply_keys is None:
            from .settings import apply_keys_from_env

            apply_keys = apply_keys_from_env()
        self._apply_keys = frozenset(apply_keys)
        self._own_key: str | None = None
        self.stats = ApiStats()
        self._answered = not hint_base_url  # any 2xx yet? (a 404 before one: check the URL)
        self.budget = RetryBudget(self.retry.budget_ratio, self.retry.budget_floor)
        cap = self.retry.retry_after_cap
        self.pacer = Pacer(rate_limit, min_rate=1 / cap if cap > 0 else 0.0, sleep=self.retry.sleep)
        self._reached = False  # has the server answered anything yet in this run?
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=max_concurrency, max_keepalive_connections=max_concurrency
            ),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            # trust_env (default): HTTPS_PROXY/NO_PROXY and SSL_CERT_FILE are honoured, as curl
            # and Terraform do; the key still only ever goes to the configured origin.
        )

    def __repr__(self) -> str:
        return f"ApiClient(base_url={self.base_url!r}, max_concurrency={self.max_concurrency})"

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        if not self._closed:
            self._closed = True
            redact.unregister(self._token.reveal())

    # ---- workspaces -----------------------------------------------------------------------

    def workspace(self, slug: str) -> WorkspaceClient:
        from .workspace import WorkspaceClient

        return WorkspaceClient(self, slug)

    async def list_workspaces(self) -> list[dict[str, Any]]:
        """Every workspace this key reaches (all pages)."""
        return await self.paged("/v1/workspaces", route="GET workspaces", workspace=None)

    async def describe_key(self) -> dict[str, Any] | None:
        """The calling key (``GET /v1/key``): ``scopes`` and the workspace or agency it belongs
        to; ``None`` from a server that does not describe keys."""
        from ..errors import NotFoundError

        try:
            resp = await self.request("GET", "/v1/key", workspace=None, route="GET key")
        except NotFoundError:
            return None
        return resp.json_object()

    async def wscfg_keys(self) -> frozenset[str]:
        """The ids of the keys whose writes are wscfg's: the key of this run (read once from
        ``GET /v1/key``) and the ``apply_keys`` it was given. Drift attribution trusts these
        ids, as the server records them with each write, never a header (docs/drift.md)."""
        if self._own_key is None:
            info = await self.describe_key()
            key_id = info.get("id") if isinstance(info, dict) else None
            self._own_key = key_id if isinstance(key_id, str) else ""
        return self._apply_keys | ({self._own_key} if self._own_key else set())

    async def create_workspace(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a sub-account (agency keys). Retried safely: the POST carries an
        Idempotency-Key. The answer must be about the slug asked for, when one was given."""
        slug = body.get("slug")
        want = slug if isinstance(slug, str) else None
        resp = await self.request(
            "POST",
            "/v1/workspaces",
            json_body=dict(body),
            idempotency_key=new_idempotency_key(),
            workspace=want,
            route="POST workspaces",
        )
        item = with_etag(resp)
        if want is not None and item.get("slug") != want:
            raise ProtocolError(
                f"asked to create workspace {want!r} but the answer describes "
                f"{scrub(item.get('slug'), limit=80)!r}",
                method=resp.method,
                url=resp.url,
            )
        return item

    # ---- the one request path -------------------------------------------------------------

    async def paged(
        self,
        path: str,
        *,
        route: str,
        workspace: str | None,
        limit: int | None = None,
        max_pages: int = 100_000,
        query: Sequence[tuple[str, str]] = (),
    ) -> list[dict[str, Any]]:
        """All items of a cursor-paged collection (``{"items": [...], "next_cursor": ...}``);
        ``query`` holds filters, a name may repeat (``[("key", "a"), ("key", "b")]``)."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(max_pages):
            params: list[tuple[str, str]] = list(query)
            if limit is not None:
                params.append(("limit", str(limit)))
            if cursor is not None:
                params.append(("cursor", cursor))
            resp = await self.request("GET", path, params=params, workspace=workspace, route=route)
            page = resp.json_object()
            got = page.get("items")
            if not isinstance(got, list) or not all(isinstance(i, dict) for i in got):
                raise ProtocolError(
                    "the page has no 'items' list of objects", method="GET", url=resp.url
                )
            items.extend(got)
            nxt = page.get("next_cursor")
            if nxt is None or nxt == "":
                return items
            if not isinstance(nxt, str) or nxt in seen:
                raise ProtocolError(
                    "the server's paging cursor is invalid or repeats itself",
                    method="GET",
                    url=resp.url,
                )
            seen.add(nxt)
            cursor = nxt
        raise ProtocolError(f"more than {max_pages} pages", method="GET", url=path)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        workspace: str | None,
        route: str,
        idempotency_key: str | None = None,
        if_match: str | None = None,
        max_bytes: int | None = None,
        secrets: Iterable[str] = (),
        accept_after_retry: Iterable[int] = (),
        accept: Iterable[int] = (),
    ) -> Response:
        """Send one logical request with retries; return its 2xx answer or raise.

        ``path`` starts with ``/v1``; it is appended to the base URL (which may carry a prefix).
        ``workspace`` is the slug the answer must belong to (``None``: not workspace-scoped).
        A status in ``accept_after_retry`` arriving on a *retried* attempt is returned instead
        of raised, for the caller to interpret (see WorkspaceClient); a status in ``accept``
        is returned on any attempt.
        """
        method = method.upper()
        headers: dict[str, str] = {}
        content: bytes | None = None
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if if_match is not None:
            headers["If-Match"] = quote_etag(if_match)
        url = httpx.URL(self.base_url + path)
        if params:
            pairs: list[tuple[str, str | int | float | bool | None]] = (
                list(params.items()) if isinstance(params, Mapping) else list(params)
            )
            url = url.copy_merge_params(pairs)
        call = _Call(
            method=method,
            url=url,
            route=route,
            content=content,
            headers=headers,
            workspace=workspace,
            max_bytes=max_bytes if max_bytes is not None else self.max_response_bytes,
            retryable=is_retryable_request(method, headers),
            secrets=tuple(s for s in secrets if s),
            accept_after_retry=frozenset(accept_after_retry),
            accept=frozenset(accept),
        )
        for secret in call.secrets:
            redact.register(secret)
        try:
            return await self._send(call)
        finally:
            for secret in call.secrets:
                redact.unregister(secret)

    async def _send(self, call: _Call) -> Response:
        policy = self.retry
        self.budget.record_request()
        self.stats.calls[call.method] += 1
        shown = str(call.url)
        attempt = 0
        uncertain = False  # did some attempt reach the server without us hearing the outcome?
        loop = asyncio.get_running_loop()
        deadline = None if self.request_deadline is None else loop.time() + self.request_deadline
        counted = 0  # attempts that count against max_attempts and the retry budget
        while True:
            attempt += 1
            waited = await self.pacer.acquire()
            if deadline is not None:
                deadline += waited  # waiting for the run's turn is not the request's time
            retry_after: float | None = None
            last_resp: Response | None = None
            last_exc: BaseException | None = None
            waitable = False  # a 429, or a server gone for a moment: waited out, not counted
            limit = self.attempt_timeout
            if deadline is not None:
                left = max(deadline - loop.time(), 0.0)
                limit = left if limit is None else min(limit, left)
            try:
                async with asyncio.timeout(limit):
                    try:
                        resp = await self._attempt(call, attempt)
                    finally:
                        self.pacer.heard()
            except TimeoutError as exc:  # the attempt took too long (a trickling body)
                reason = f"no complete answer within {limit:g} s"
                uncertain = True
                if deadline is not None and loop.time() >= deadline:
                    raise _transport_error(
                        call,
                        f"{reason}; the request's deadline of {self.request_deadline:g} s "
                        "has passed",
                        "",
                        uncertain,
                    ) from exc
                if not call.retryable:
                    raise _transport_error(call, reason, "", uncertain) from exc
                last_exc = None
            except httpx.TransportError as exc:
                reason = _describe(exc, self._scrub_secrets(call))
                uncertain = uncertain or not isinstance(exc, _NOT_SENT)
                if isinstance(exc, _NEVER_RETRY) or not (
                    call.retryable or isinstance(exc, _NOT_SENT)
                ):
                    raise _transport_error(call, reason, "", uncertain) from exc
                # A server that answered earlier in this run and now refuses connections is
                # restarting: waited out within the deadline, like a 429.
                waitable = self._reached and isinstance(exc, _NOT_SENT)
                last_exc = exc
            except httpx.RequestError as exc:  # decoding errors, stream errors, bad URLs
                why = _describe(exc, self._scrub_secrets(call))
                raise ProtocolError(
                    f"the answer could not be read ({why})", method=call.method, url=shown
                ) from exc
            else:
                if 200 <= resp.status < 300:
                    self._answered = True
                    return resp
                if resp.status in call.accept or (
                    attempt > 1 and resp.status in call.accept_after_retry
                ):
                    return resp
                # A 429 refuses the request before it is carried out: any request may be
                # sent again, and it is waited out rather than counted.
                waitable = resp.status == 429
                if not waitable and not (call.retryable and resp.status in policy.retry_statuses):
                    raise self._status_error(call, resp, "", uncertain)
                # A 5xx answer to a write does not say whether the write happened (the server
                # may have committed, then failed): from now on the outcome is uncertain.
                uncertain = uncertain or (resp.status >= 500 and call.method not in _READS)
                reason = f"status {resp.status}"
                retry_after = policy.retry_after(resp.headers.get("retry-after"))
                last_resp = resp

            # A failure we may retry: attempts left, an acceptable wait and budget?
            stop = ""
            delay: float | None = None
            if not waitable:
                counted += 1
            if not waitable and counted >= policy.max_attempts:
                stop = f"gave up after {attempt} attempts"
            else:
                delay = policy.delay(attempt, retry_after)
                if delay is None:
                    stop = (
                        f"the server asked to wait {_seconds(retry_after)}, more than the "
                        f"{policy.retry_after_cap:g} s this client waits"
                    )
                elif deadline is not None and loop.time() + delay >= deadline:
                    stop = (
                        f"not retried, the request's deadline of {self.request_deadline:g} s "
                        f"would pass ({attempt} attempts)"
                    )
                elif not waitable and not self.budget.try_spend():
                    stop = (
                        f"not retried, the retry budget of this run is spent ({attempt} attempts)"
                    )
            if stop:
                if last_resp is not None:
                    raise self._status_error(call, last_resp, stop, uncertain)
                raise _transport_error(call, reason, stop, uncertain) from last_exc
            assert delay is not None
            self.stats.retries[call.method] += 1
            log.info(
                "retrying %s %s after %s in %.2f s (attempt %d of %d)",
                call.method,
                _path(call.url),
                reason,
                delay,
                attempt + 1,
                policy.max_attempts,
            )
            if last_resp is not None and last_resp.status == 429:
                self.pacer.hold(delay)  # every request of the run waits, this one included
            else:
                await policy.sleep(delay)

    async def _attempt(self, call: _Call, attempt: int) -> Response:
        url = call.url
        for _hop in range(self.max_redirects + 1):
            if _origin(url) != self._origin:  # pragma: no cover - _redirect_target refuses first
                raise ProtocolError("refusing to send the key to another host", url=str(url))
            started = time.monotonic()
            async with self._semaphore:
                self.stats.requests[call.method] += 1
                self.stats.routes[call.route] += 1
                request = self._http.build_request(
                    call.method, url, headers=self._headers(call), content=call.content
                )
                response = await self._http.send(request, stream=True)
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
            self._reached = True
            self.pacer.observe(response.headers)
            elapsed_ms = (time.monotonic() - started) * 1000
            log.debug(
                "%s %s -> %d (attempt %d, %.1f ms)",
                call.method,
                _path(url),
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

    def _headers(self, call: _Call) -> dict[str, str]:
        return {**call.headers, "Authorization": "Bearer " + self._token.reveal()}

    def _redirect_target(self, call: _Call, url: httpx.URL, location: str | None) -> httpx.URL:
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
        if _origin(target) != self._origin:
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

    def _check_workspace(self, call: _Call, response: httpx.Response, url: str) -> None:
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
            other = scrub(got, self._scrub_secrets(call), limit=80)
            raise ProtocolError(
                f"the answer belongs to workspace {other!r}, not {call.workspace!r}; "
                "it was discarded",
                method=call.method,
                url=url,
            )

    async def _read(
        self, response: httpx.Response, cap: int, *, truncate: bool, call: _Call
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

    def status_error(
        self, resp: Response, note: str = "", secrets: Iterable[str] = ()
    ) -> HTTPStatusError:
        """The error for a non-2xx answer, server text scrubbed of the key and ``secrets``."""
        return problem_error(
            resp.status,
            resp.headers.get("content-type", ""),
            resp.body,
            method=resp.method,
            url=resp.url,
            request_id=resp.headers.get("x-request-id", ""),
            secrets=(self._token.reveal(), *secrets),
            message_hint=note,
        )

    def _status_error(
        self, call: _Call, resp: Response, note: str, uncertain: bool
    ) -> HTTPStatusError:
        """The error for the final non-2xx answer of ``call``. A write that some earlier
        attempt may have carried out says so and carries ``maybe_applied = True``."""
        maybe = uncertain and call.method not in _READS
        if maybe:
            note = "; ".join(filter(None, [note, "the change may or may not have been made"]))
        if resp.status == 404 and not self._answered:
            note = "; ".join(filter(None, [note, self.base_url_hint()]))
        exc = self.status_error(resp, note, call.secrets)
        exc.maybe_applied = maybe
        return exc

    def base_url_hint(self) -> str:
        """Said of a 404 before anything answered: the usual cause is a wrong base URL."""
        return (
            f"nothing at {self.base_url} has answered yet: is it the API's base URL? wscfg "
            f"sends {self.base_url}/v1/…; give the server as `wscfg sandbox serve` prints it, "
            "e.g. --server http://127.0.0.1:8787/v1"
        )

    def _scrub_secrets(self, call: _Call) -> tuple[str, ...]:
        return (self._token.reveal(), *call.secrets)


def _transport_error(call: _Call, reason: str, stop: str, uncertain: bool) -> TransportError:
    """The error for a request that got no answer. A write that may have reached the server
    says so, and carries ``maybe_applied = True`` for apply's report."""
    text = f"no answer from the server ({reason})"
    if stop:
        text += f"; {stop}"
    maybe = uncertain and call.method not in _READS
    if maybe:
        text += "; the change may or may not have been made"
    exc = TransportError(text, method=call.method, url=str(call.url))
    exc.maybe_applied = maybe
    return exc


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    scheme = url.scheme.lower()
    port = url.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, url.host.lower(), port


def _path(url: httpx.URL) -> str:
    """The path as sent (still percent-encoded), with its query."""
    return url.raw_path.decode("ascii", errors="replace")


def _describe(exc: BaseException, secrets: tuple[str, ...]) -> str:
    text = scrub(str(exc), secrets, limit=200)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _seconds(value: float | None) -> str:
    if value is None or value == float("inf"):
        return "indefinitely"
    return f"{value:g} s"
