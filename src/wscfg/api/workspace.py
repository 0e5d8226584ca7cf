"""Operations on one workspace: snapshot, paged reads, item writes, the blocked-callers batch.

Get one from :meth:`wscfg.api.client.ApiClient.workspace`. Every request is workspace-scoped:
its answer must carry ``Wscfg-Workspace: <slug>`` or it is discarded.

Answers after a retry (the earlier attempt may have landed, we never heard):

- ``PATCH`` (with If-Match) → ``412``: the item is read again; if every field we sent now has
  the value we sent (write-only fields compared by their ``<field>_fingerprint``), the update
  is reported as done and the fresh item (new etag) returned; otherwise the 412 is raised.
- ``DELETE`` → ``404``: the item is gone, which is what we asked for: success.
- ``POST`` create → ``409`` (should not happen: the Idempotency-Key replays the first answer,
  but a server that lost its idempotency record answers "exists"): read the item; same rule as
  for 412.

On a *first* attempt 412 and 404 are plain errors (PreconditionFailed, NotFoundError): someone
else changed or deleted the item. A create answered ``409`` on its first attempt is read back
too: someone else (an identical apply racing this one) created it; holding what we sent, that
is success; otherwise a ConflictError saying it exists with other values.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from wscfg.errors import ApiError, HTTPStatusError, NotFoundError, ProtocolError
from wscfg.model.base import SLUG_RE
from wscfg.model.kinds import BY_NAME, COLLECTIONS, OBSERVED, SINGLETONS, Kind
from wscfg.model.webhooks import secret_fingerprint

from .cache import keep, paged_read, still, usable
from .problems import scrub
from .wire import Response, new_idempotency_key, with_etag

if TYPE_CHECKING:
    from .cache import ReadCache

AUDIT_PAGE = 5000  # audit entries per page: the API's maximum
BATCH_LIMIT = 10_000  # entries per batch request, as the API documents
BLOCKED_CALLERS = "blocked_callers"


class Requester(Protocol):
    """What a :class:`WorkspaceClient` asks of the client whose pool, limit and retry budget
    it shares (:class:`wscfg.api.client.ApiClient` is one)."""

    max_snapshot_bytes: int
    cache: ReadCache | None

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
    ) -> Response: ...

    async def paged(
        self,
        path: str,
        *,
        route: str,
        workspace: str | None,
        limit: int | None = None,
        max_pages: int = 100_000,
        query: Sequence[tuple[str, str]] = (),
    ) -> list[dict[str, Any]]: ...

    def status_error(
        self, resp: Response, note: str = "", secrets: Iterable[str] = ()
    ) -> HTTPStatusError: ...


class WorkspaceClient:
    """The API of one workspace, sharing its :class:`ApiClient`'s pool, limit and budget."""

    def __init__(self, api: Requester, slug: str) -> None:
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise ValueError(f"{slug!r} is not a workspace slug")
        self.api = api
        self.slug = slug
        self._base = f"/v1/workspaces/{quote(slug, safe='')}"

    def __repr__(self) -> str:
        return f"WorkspaceClient({self.slug!r}, {self.api!r})"

    # ---- paths ----------------------------------------------------------------------------

    def kind_path(self, kind: Kind) -> str:
        return f"{self._base}/{kind.path}" if kind.path else self._base

    def item_path(self, kind: Kind, key: str) -> str:
        if kind.singleton:
            if key:
                raise ValueError(f"{kind.name} is a singleton; its key is ''")
            return self.kind_path(kind)
        return f"{self.kind_path(kind)}/{encode_key(key)}"

    # ---- reads ----------------------------------------------------------------------------

    async def snapshot(self) -> dict[str, Any]:
        """Every kind in one request (``GET …/settings``), items with their ``etag``.

        The body must describe this workspace (``workspace.slug``) and hold every kind of the
        registry in the documented shape; anything else is a :class:`ProtocolError`. With a
        read cache, the request is conditional and a ``304`` answers with the cached copy
        (which passed the same checks)."""
        path = f"{self._base}/settings"
        cache = self.api.cache
        cached = usable(cache, self.slug, "settings", check_snapshot) if cache else None
        read = functools.partial(
            self.api.request,
            "GET",
            path,
            workspace=self.slug,
            route="GET settings",
            max_bytes=self.api.max_snapshot_bytes,
        )
        resp = await read(if_none_match=cached.etag if cached is not None else None)
        if cache is not None and cached is not None and still(cache, resp, cached):
            return dict(cached.value)
        if resp.status == 304:  # another tag than the one asked about: read it in full
            resp = await read()
        data = resp.json_object()
        check_snapshot(data, self.slug, resp)
        if cache is not None:
            keep(cache, self.slug, "settings", resp, data)
        return data

    async def list_items(self, kind: Kind, *, page_size: int = 5000) -> list[dict[str, Any]]:
        """Every item of a collection, following the cursor (items carry ``etag``)."""
        if kind.singleton:
            raise ValueError(f"{kind.name} is a singleton; use get_singleton()")
        items = await self.api.paged(
            self.kind_path(kind),
            route=f"GET {kind.path}",
            workspace=self.slug,
            limit=page_size,
        )
        for item in items:
            _require_identity(kind, item, self.kind_path(kind))
        return items

    async def get_item(self, kind: Kind, key: str) -> dict[str, Any]:
        """One item by its natural key, ``etag`` set from the ETag header."""
        resp = await self.api.request(
            "GET",
            self.item_path(kind, key),
            workspace=self.slug,
            route=_route("GET", kind, key),
        )
        return with_etag(resp)

    async def get_singleton(self, kind: Kind) -> dict[str, Any]:
        if not kind.singleton:
            raise ValueError(f"{kind.name} is a collection; use list_items() or get_item()")
        item = await self.get_item(kind, "")
        if kind.path == "" and item.get("slug") != self.slug:
            raise ProtocolError(
                f"asked for workspace {self.slug!r}, the answer describes "
                f"{scrub(item.get('slug'), limit=80)!r}; it was discarded",
                method="GET",
                url=self.kind_path(kind),
            )
        return item

    # ---- writes ---------------------------------------------------------------------------

    async def create(self, kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST one item with an Idempotency-Key that stays the same across retries."""
        if kind.singleton:
            raise ValueError(f"{kind.name} is a singleton; use update()")
        sent = dict(body)
        resp = await self.api.request(
            "POST",
            self.kind_path(kind),
            json_body=sent,
            idempotency_key=new_idempotency_key(),
            workspace=self.slug,
            route=f"POST {kind.path}",
            secrets=_write_only_values(kind, sent),
            accept=(409,),
        )
        if resp.status == 409:
            key = sent.get(kind.identity or "")
            key = key if isinstance(key, str) else ""
            if resp.attempts > 1:
                return await self._confirm_after_retry(kind, key, sent, resp)
            return await self._confirm_existing(kind, key, sent, resp)
        return with_etag(resp)

    async def update(
        self, kind: Kind, key: str, body: Mapping[str, Any], *, etag: str | None
    ) -> dict[str, Any]:
        """PATCH the fields in ``body`` (If-Match when ``etag`` is given; only then retried)."""
        sent = dict(body)
        resp = await self.api.request(
            "PATCH",
            self.item_path(kind, key),
            json_body=sent,
            if_match=etag,
            workspace=self.slug,
            route=_route("PATCH", kind, key),
            secrets=_write_only_values(kind, sent),
            accept_after_retry=(412,),
        )
        if resp.status == 412:
            return await self._confirm_after_retry(kind, key, sent, resp)
        item = with_etag(resp)
        if kind.path == "" and item.get("slug") != self.slug:
            raise ProtocolError(
                f"updated workspace {self.slug!r}, the answer describes "
                f"{scrub(item.get('slug'), limit=80)!r}",
                method="PATCH",
                url=resp.url,
            )
        return item

    async def delete(self, kind: Kind, key: str, *, etag: str | None) -> None:
        """DELETE one item (If-Match when ``etag`` is given). 404 after a retry is success."""
        if kind.singleton:
            raise ValueError(f"{kind.name} is a singleton and cannot be deleted")
        await self.api.request(
            "DELETE",
            self.item_path(kind, key),
            if_match=etag,
            workspace=self.slug,
            route=_route("DELETE", kind, key),
            accept_after_retry=(404,),
        )

    async def audit(
        self,
        kinds: Iterable[str] = (),
        keys: Iterable[str] | None = None,
        *,
        since: str | None = None,
        page_size: int = AUDIT_PAGE,
    ) -> list[dict[str, Any]]:
        """The audit log, newest first: entries of ``kinds`` (all when empty) and items ``keys``
        (all when ``None``), at or after ``since``; one request unless it pages. With a read
        cache, each page is read conditionally (a ``304``: the cached page; see
        :func:`.cache.paged_read`)."""
        query = [("kind", k) for k in sorted(set(kinds))]
        if keys is not None:
            query += [("key", k) for k in sorted(set(keys))]
        if since is not None:
            query.append(("since", since))
        path = f"{self._base}/audit"
        if self.api.cache is not None:
            asked = [*query, ("limit", str(page_size))]

            def fetch(cursor: str | None, tag: str | None) -> Awaitable[Response]:
                return self.api.request(
                    "GET",
                    path,
                    params=asked if cursor is None else [*asked, ("cursor", cursor)],
                    workspace=self.slug,
                    route="GET audit",
                    if_none_match=tag,
                )

            query_asked = [list(p) for p in asked]
            return await paged_read(
                self.api.cache, self.slug, "audit", query_asked, fetch, ident="id"
            )
        return await self.api.paged(
            path,
            route="GET audit",
            workspace=self.slug,
            limit=page_size,
            query=query,
        )

    async def resend_invitation(self, email: str) -> dict[str, Any]:
        """Re-send a member's invitation (``status`` back to pending, new ``expires_at``)."""
        members = BY_NAME["members"]
        resp = await self.api.request(
            "POST",
            f"{self.item_path(members, email)}/resend",
            idempotency_key=new_idempotency_key(),
            workspace=self.slug,
            route="POST members/{key}/resend",
        )
        return with_etag(resp)

    async def batch_blocked_callers(
        self,
        add: Sequence[Mapping[str, Any]],
        remove: Sequence[str],
        *,
        if_match: Mapping[str, str | None] | None = None,
        chunk: int = 5000,
        on_chunk: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Add/update and remove blocked callers in chunks of ``chunk`` entries per request.

        Removes go first, then adds, each request carrying its own Idempotency-Key (so each is
        retried safely). ``if_match`` maps numbers to the ETag each must still have (None:
        must not exist); the server leaves a number whose precondition fails alone and lists
        it. Returns the summed counts ``{"added", "updated", "removed", "requests"}`` and the
        ``"conflicts"`` (numbers left alone). ``on_chunk`` is called with each chunk's counts
        as it lands, so a caller can report progress when a later chunk fails.
        """
        if not 1 <= chunk <= BATCH_LIMIT:
            raise ValueError(f"chunk must be between 1 and {BATCH_LIMIT}")
        kind = BY_NAME[BLOCKED_CALLERS]
        entries: list[tuple[str, Any]] = [("remove", n) for n in remove]
        entries += [("add", dict(a)) for a in add]
        totals: dict[str, Any] = {"added": 0, "updated": 0, "removed": 0, "requests": 0}
        conflicts: list[str] = []
        for start in range(0, len(entries), chunk):
            part = entries[start : start + chunk]
            body: dict[str, Any] = {
                "add": [v for op, v in part if op == "add"],
                "remove": [v for op, v in part if op == "remove"],
            }
            if if_match:
                numbers = [v if op == "remove" else v.get("number") for op, v in part]
                body["if_match"] = {n: if_match[n] for n in numbers if n in if_match}
            resp = await self.api.request(
                "POST",
                f"{self.kind_path(kind)}:batch",
                json_body=body,
                idempotency_key=new_idempotency_key(),
                workspace=self.slug,
                route=f"POST {kind.path}:batch",
            )
            counts = _batch_counts(resp)
            for name, n in counts.items():
                if name == "conflicts":
                    conflicts.extend(n)
                else:
                    totals[name] += n
            totals["requests"] += 1
            if on_chunk is not None:
                on_chunk(counts)
        totals["conflicts"] = conflicts
        return totals

    # ---- helpers --------------------------------------------------------------------------

    async def _confirm_existing(
        self, kind: Kind, key: str, sent: dict[str, Any], resp: Response
    ) -> dict[str, Any]:
        """A first attempt's create answered 409: someone else (an identical apply racing
        this one) created the item meanwhile. Holding what we sent, it is done; otherwise a
        conflict that says so (the caller names the item)."""
        secrets = _write_only_values(kind, sent)
        current: dict[str, Any] | None = None
        if key:
            try:
                current = await self.get_item(kind, key)
            except NotFoundError:
                current = None
        if current is None:
            raise self.api.status_error(resp, secrets=secrets)
        if matches(sent, current, kind.write_only):
            return current
        raise self.api.status_error(
            resp,
            "it was created by someone else meanwhile, with other values than this plan "
            "creates; nothing was overwritten: run `wscfg plan` again",
            secrets=secrets,
        )

    async def _confirm_after_retry(
        self, kind: Kind, key: str, sent: dict[str, Any], resp: Response
    ) -> dict[str, Any]:
        """After a retried write was refused (412/409): did our earlier attempt land?"""
        secrets = _write_only_values(kind, sent)
        current: dict[str, Any] | None = None
        if key or kind.singleton:
            try:
                current = await self.get_item(kind, key)
            except NotFoundError:
                current = None
            except ApiError as exc:  # cannot tell: an earlier attempt may have landed
                err = self.api.status_error(
                    resp,
                    f"after a retry; reading the item back failed ({exc.message}); "
                    "the change may or may not have been made",
                    secrets=secrets,
                )
                err.maybe_applied = True
                raise err from exc
        if current is not None and matches(sent, current, kind.write_only):
            return current
        raise self.api.status_error(
            resp, "after a retry; the item does not hold what was sent", secrets=secrets
        )


def encode_key(key: str) -> str:
    """A natural key as one URL path segment (``+1555…`` → ``%2B1555…``, ``@`` → ``%40``)."""
    if not isinstance(key, str) or key in ("", ".", ".."):
        raise ValueError(f"{key!r} is not a valid item key")
    return quote(key, safe="")


def matches(sent: Mapping[str, Any], current: Mapping[str, Any], write_only: Iterable[str]) -> bool:
    """Does ``current`` hold every field of ``sent``? (the "did my write land" test)

    Nested objects compare as subsets (a PATCH may send part of one); ``None`` matches an
    absent field (the API leaves nulls out); lists compare exactly. A write-only field is
    compared through ``<field>_fingerprint``, which the API shows exactly when a value is set:
    a value sent must show its fingerprint, a ``None`` sent (cleared) must show none.
    """
    hidden = set(write_only)
    for name, value in sent.items():
        if name in hidden:
            shown = current.get(f"{name}_fingerprint")
            if value is None:
                if shown is not None:
                    return False
            elif isinstance(value, str) and (shown is None or secret_fingerprint(value) != shown):
                return False
            continue
        if not _subset(value, current.get(name)):
            return False
    return True


def _subset(sent: Any, got: Any) -> bool:
    if sent is None:
        return got is None
    if isinstance(sent, Mapping):
        return isinstance(got, Mapping) and all(_subset(v, got.get(k)) for k, v in sent.items())
    if isinstance(sent, list | tuple):
        return (
            isinstance(got, list)
            and len(sent) == len(got)
            and all(_subset(a, b) for a, b in zip(sent, got, strict=True))
        )
    if isinstance(sent, bool) or isinstance(got, bool):
        return sent is got
    return bool(sent == got)


def check_snapshot(data: Mapping[str, Any], slug: str, resp: Response) -> None:
    """Refuse a snapshot that is not this workspace's or not in the documented shape."""

    def bad(why: str) -> ProtocolError:
        return ProtocolError(f"the snapshot {why}; it was discarded", method="GET", url=resp.url)

    ws = data.get("workspace")
    if not isinstance(ws, dict):
        raise bad("has no 'workspace' object")
    if ws.get("slug") != slug:
        other = scrub(ws.get("slug"), limit=80)
        raise bad(f"describes workspace {other!r}, not {slug!r}")
    for kind in SINGLETONS:
        if kind.name != "workspace" and not isinstance(data.get(kind.name), dict):
            raise bad(f"has no '{kind.name}' object")
    for kind in COLLECTIONS:
        items = data.get(kind.name)
        if not isinstance(items, list):
            raise bad(f"has no '{kind.name}' list")
        _require_identities(kind, items, resp.url)
    for kind in OBSERVED:  # optional: a server without them shows none
        items = data.get(kind.name, [])
        if not isinstance(items, list):
            raise bad(f"has no '{kind.name}' list")
        _require_identities(kind, items, resp.url)


def _require_identities(kind: Kind, items: list[Any], url: str) -> None:
    """:func:`_require_identity` for each of a snapshot's ``items``, after one quick pass
    that accepts the common case."""
    if not _plain_identities(kind, items):
        for item in items:
            _require_identity(kind, item, url, what="snapshot")


def _plain_identities(kind: Kind, items: list[Any]) -> bool:
    """Does every item pass :func:`_require_identity` as parsed JSON does (a dict, its
    identity a str or an int, its etag absent or a str)? One quick pass for the common case;
    anything else goes through :func:`_require_identity`, which words the error."""
    ident = kind.identity
    for item in items:
        if type(item) is not dict:
            return False
        got = type(item.get(ident))
        if got is not str and got is not int:
            return False
        tag = item.get("etag")
        if tag is not None and type(tag) is not str:
            return False
    return True


def _require_identity(kind: Kind, item: object, url: str, what: str = "list") -> None:
    assert kind.identity is not None
    ident = item.get(kind.identity) if isinstance(item, dict) else None
    # identities are text, or whole numbers (a usage alert's threshold)
    if not isinstance(item, dict) or not isinstance(ident, str | int) or isinstance(ident, bool):
        raise ProtocolError(
            f"the {what} holds a {kind.label} without a '{kind.identity}'; it was discarded",
            method="GET",
            url=url,
        )
    tag = item.get("etag")
    if tag is not None and not isinstance(tag, str):
        raise ProtocolError(
            f"the {what} holds a {kind.label} with a bad etag", method="GET", url=url
        )


def _batch_counts(resp: Response) -> dict[str, Any]:
    data = resp.json_object()
    out: dict[str, Any] = {}
    for name in ("added", "updated", "removed"):
        value = data.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ProtocolError(
                f"the batch answer has a bad '{name}' count", method=resp.method, url=resp.url
            )
        out[name] = value
    conflicts = data.get("conflicts", [])
    if not isinstance(conflicts, list) or not all(isinstance(n, str) for n in conflicts):
        raise ProtocolError(
            "the batch answer has a bad 'conflicts' list", method=resp.method, url=resp.url
        )
    out["conflicts"] = conflicts
    return out


def _write_only_values(kind: Kind, body: Mapping[str, Any]) -> list[str]:
    return [v for f in kind.write_only if isinstance(v := body.get(f), str) and v]


def _route(method: str, kind: Kind, key: str) -> str:
    if kind.singleton:
        return f"{method} {kind.path or 'workspace'}"
    return f"{method} {kind.path}/{{key}}"
