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

Redirects and responses
    One attempt over the wire (same-origin redirects of reads, answers read up to a cap, the
    ``Wscfg-Workspace`` check): :mod:`wscfg.api.exchange`.

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
import os
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from wscfg.errors import HTTPStatusError, ProtocolError, TransportError

from . import redact
from .exchange import READ_ALLOWANCE, Call, MiB, Wire, describe, path_of
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
    from .cache import ReadCache
    from .workspace import WorkspaceClient

log = logging.getLogger("wscfg.api")

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_NEVER_RETRY = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)


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
        cache_dir: str | os.PathLike[str] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        """``hint_base_url``: a 404 before any 2xx answer says the base URL may be wrong (off
        for the embedded sandbox, whose URL the user never gave). ``apply_keys``: the ids of
        other keys wscfg applies with (default: ``WSCFG_APPLY_KEY_IDS``), see
        :meth:`wscfg_keys`. ``pacer``: the run's request budget when an earlier client of the
        same run already learned it (default: a new one, capped by ``rate_limit``).
        ``cache_dir``: the read cache's folder (:mod:`wscfg.api.cache`; ``None``: every read
        in full)."""
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.base_url = validate_base_url(base_url)
        validate_token(token)
        self._token = Secret(token)
        redact.register(token)
        self.cache: ReadCache | None = None
        if cache_dir is not None:
            from .cache import ReadCache

            self.cache = ReadCache(cache_dir, self.base_url, token)
        self._closed = False
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max_concurrency
        self.max_response_bytes = max_response_bytes
        self.max_snapshot_bytes = max_snapshot_bytes
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
        if pacer is None:
            pacer = Pacer(rate_limit, min_rate=1 / cap if cap > 0 else 0.0, sleep=self.retry.sleep)
        self.pacer = pacer
        self._wire = Wire(
            self.base_url,
            self._token,
            transport=transport,
            timeout=timeout,
            max_concurrency=max_concurrency,
            read_allowance=read_allowance,
            max_redirects=max_redirects,
            stats=self.stats,
            pacer=self.pacer,
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
        await self._wire.http.aclose()
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
        if_none_match: str | None = None,
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
        is returned on any attempt. ``if_none_match``: a conditional read (the quoted ETag of
        the copy the caller holds); its ``304 Not Modified`` is returned, and costs the run's
        pacer no token (a 304 is not counted against the server's limit).
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
        if if_none_match is not None:
            headers["If-None-Match"] = if_none_match
            accept = (*accept, 304)
        url = httpx.URL(self.base_url + path)
        if params:
            pairs: list[tuple[str, str | int | float | bool | None]] = (
                list(params.items()) if isinstance(params, Mapping) else list(params)
            )
            url = url.copy_merge_params(pairs)
        call = Call(
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

    async def _send(self, call: Call) -> Response:
        policy = self.retry
        self.budget.record_request()
        self.stats.calls[call.method] += 1
        shown = str(call.url)
        attempt = 0
        uncertain = False  # did some attempt reach the server without us hearing the outcome?
        loop = asyncio.get_running_loop()
        deadline = None if self.request_deadline is None else loop.time() + self.request_deadline
        counted = 0  # attempts that count against max_attempts and the retry budget
        conditional = "If-None-Match" in call.headers  # paced by its answer (a 304 is free)
        while True:
            attempt += 1
            waited = await self.pacer.acquire(conditional)
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
                    status = 0
                    try:
                        resp = await self._wire.attempt(call, attempt)
                        status = resp.status
                    finally:
                        self.pacer.heard()
                        if conditional:
                            self.pacer.settle(counted=status not in (304, 429))
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
                reason = describe(exc, self._wire.secrets(call))
                uncertain = uncertain or not isinstance(exc, _NOT_SENT)
                if isinstance(exc, _NEVER_RETRY) or not (
                    call.retryable or isinstance(exc, _NOT_SENT)
                ):
                    raise _transport_error(call, reason, "", uncertain) from exc
                # A server that answered earlier in this run and now refuses connections is
                # restarting: waited out within the deadline, like a 429.
                waitable = self._wire.reached and isinstance(exc, _NOT_SENT)
                last_exc = exc
            except httpx.RequestError as exc:  # decoding errors, stream errors, bad URLs
                why = describe(exc, self._wire.secrets(call))
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
                path_of(call.url),
                reason,
                delay,
                attempt + 1,
                policy.max_attempts,
            )
            if last_resp is not None and last_resp.status == 429:
                self.pacer.hold(delay)  # every request of the run waits, this one included
            else:
                await policy.sleep(delay)

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
        self, call: Call, resp: Response, note: str, uncertain: bool
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


def _transport_error(call: Call, reason: str, stop: str, uncertain: bool) -> TransportError:
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


def _seconds(value: float | None) -> str:
    if value is None or value == float("inf"):
        return "indefinitely"
    return f"{value:g} s"
