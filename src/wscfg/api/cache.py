"""The read cache (``cache=DIR``, ``WSCFG_CACHE``): each workspace's last snapshot and audit
read (every page of it) with their ETags, so the next run asks ``If-None-Match`` and a ``304``
costs neither the body nor a request of the server's rate limit.

The cache is only an optimization: whatever is wrong with an entry, the read is made in full,
and a run gives the same results with the cache, without it, or with it deleted.

- **Where**: ``DIR/<id>/<slug>.settings`` and ``DIR/<id>/<slug>.audit``, ``<id>`` a digest of
  the server URL and of the key's id (below). ``DIR`` and ``DIR/<id>`` are created mode
  ``0700``; each entry is written whole or not at all (:mod:`wscfg.files`), mode ``0600``.
- **Keyed by server and key**: an entry records the server URL and a key id (an HMAC of a
  fixed label under the API key: the key itself is never stored, nor anything a guess of it
  could be checked against without the key). An entry of another server, another key, another
  format version or another workspace is not used.
- **No secret in it**: what a snapshot holds (webhook secret fingerprints, API key prefixes,
  values that came from ``${env:…}``, audit entries) is stored encrypted (AES-256-GCM) under a
  key derived from the API key, which is not in the cache: reading an entry needs the key that
  can read the live workspace anyway. The file shows only its format version, the server URL,
  the key id and the workspace's slug, as a plan file does.
- **Corrupt entries**: truncated, not JSON, the wrong shape, a failed decryption (a changed
  byte, another key) or a snapshot that does not pass the checks a fresh one passes: a miss.
- **Failed writes** (a full disk, a read-only folder) leave the entry missing: the next run
  reads in full. Deleting ``DIR`` at any time is safe.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProtocolError, SetupError, WscfgError

VERSION = 1
_FIELDS = frozenset({"wscfg_cache", "server", "key_id", "name", "nonce", "data"})
_NONCE = 12


@dataclass(frozen=True)
class Entry:
    """What a cached read holds: the answer's ETag (quoted; a paged read's: its first
    page's), its value (a paged read's: its pages, :func:`paged_read`), and (audit reads) the
    query it answered."""

    etag: str
    value: Any
    query: list[list[str]] | None = None


class ReadCache:
    """The entries of one server and one API key in the folder ``root``.

    ``hits`` and ``misses`` count the answers this process used from it (a ``304``) and the
    entries it could not use (missing or unusable)."""

    def __init__(self, root: str | os.PathLike[str], server: str, token: str) -> None:
        self.root = Path(root)
        self.server = server
        secret = token.encode()
        self.key_id = hmac.new(secret, b"wscfg read cache: key id", hashlib.sha256).hexdigest()[:32]
        self._key = hmac.new(
            secret, b"wscfg read cache: encryption\0" + server.encode(), hashlib.sha256
        ).digest()
        place = hashlib.sha256(f"{server}\0{self.key_id}".encode()).hexdigest()[:24]
        self.folder = self.root / place
        self.hits = 0
        self.misses = 0
        self._ready = False

    def __repr__(self) -> str:
        return f"ReadCache({str(self.root)!r}, server={self.server!r})"

    # ---- reading ----------------------------------------------------------------------------

    def load(self, slug: str, what: str) -> Entry | None:
        """The entry of ``slug``'s ``what`` (``settings`` or ``audit``), or ``None`` when there
        is none this server and key can use."""
        name = f"{slug}.{what}"
        try:
            entry = self._open((self.folder / name).read_bytes(), name)
        except OSError:
            entry = None
        if entry is None:
            self.misses += 1
        return entry

    def _open(self, raw: bytes, name: str) -> Entry | None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(doc, dict) or set(doc) != _FIELDS:
            return None
        head = {k: doc[k] for k in ("wscfg_cache", "server", "key_id", "name")}
        if head != {
            "wscfg_cache": VERSION,
            "server": self.server,
            "key_id": self.key_id,
            "name": name,
        }:
            return None
        try:
            nonce = base64.b64decode(doc["nonce"], validate=True)
            sealed = base64.b64decode(doc["data"], validate=True)
            plain = AESGCM(self._key).decrypt(nonce, sealed, _aad(head))
            body = json.loads(plain)
        except (TypeError, ValueError, InvalidTag, RecursionError):
            return None
        if not isinstance(body, dict) or set(body) - {"etag", "value", "query"}:
            return None
        etag, query = body.get("etag"), body.get("query")
        if not isinstance(etag, str) or not etag or "value" not in body:
            return None
        if query is not None and not (
            isinstance(query, list)
            and all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)
                for p in query
            )
        ):
            return None
        return Entry(etag, body["value"], query)

    # ---- writing ----------------------------------------------------------------------------

    def store(self, slug: str, what: str, entry: Entry) -> None:
        """Keep ``entry`` for ``slug``'s ``what`` (a failed write leaves no entry)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from ..files import write_atomic

        name = f"{slug}.{what}"
        head = {"wscfg_cache": VERSION, "server": self.server, "key_id": self.key_id, "name": name}
        body: dict[str, Any] = {"etag": entry.etag, "value": entry.value}
        if entry.query is not None:
            body["query"] = entry.query
        plain = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self._key).encrypt(nonce, plain, _aad(head))
        doc = {
            **head,
            "nonce": base64.b64encode(nonce).decode(),
            "data": base64.b64encode(sealed).decode(),
        }
        try:
            self._prepare()
            write_atomic(self.folder / name, json.dumps(doc), mode=0o600)
        except OSError:
            self.drop(slug, what)

    def drop(self, slug: str, what: str) -> None:
        """Forget ``slug``'s ``what`` (it is stale and could not be replaced)."""
        with contextlib.suppress(OSError):
            (self.folder / f"{slug}.{what}").unlink()

    def _prepare(self) -> None:
        if self._ready:
            return
        for folder in (self.root, self.folder):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                continue
            os.chmod(folder, 0o700)  # exactly: the umask may have left more
        self._ready = True


# ---- the reads' side: used by wscfg.api.workspace ----------------------------------------------

STRONG_ETAG = re.compile(r'"[\x21\x23-\x7e]{1,200}"')


def usable(
    cache: ReadCache,
    slug: str,
    what: str,
    check: Callable[[Any, str, Any], None],
    query: list[list[str]] | None = None,
) -> Entry | None:
    """The cache's entry of ``slug``'s ``what`` when it passes ``check`` (what a fresh answer
    passes: ``check(value, slug, response)``) and answered ``query``; else ``None``."""
    entry = cache.load(slug, what)
    if entry is None:
        return None
    import httpx

    from .wire import Response

    named = Response("GET", f"(the read cache: {what})", 200, httpx.Headers(), b"", 1)
    try:
        check(entry.value, slug, named)
    except (WscfgError, TypeError, AttributeError, ValueError):
        entry = None
    if entry is not None and entry.query != query:
        entry = None
    if entry is None:
        cache.misses += 1
    return entry


def still(cache: ReadCache, resp: Any, cached: Entry) -> bool:
    """Did ``resp`` say the cached copy is current (a ``304`` for its tag)?"""
    if resp.status != 304:
        return False
    tag = resp.headers.get("etag")
    if tag is not None and tag.strip() != cached.etag:
        return False
    cache.hits += 1
    return True


def keep(
    cache: ReadCache,
    slug: str,
    what: str,
    resp: Any,
    value: Any,
    query: list[list[str]] | None = None,
) -> None:
    """Cache ``value``, the answer of ``resp``, when it carries a strong ETag (else forget
    the stale entry)."""
    tag = (resp.headers.get("etag") or "").strip()
    if STRONG_ETAG.fullmatch(tag):
        cache.store(slug, what, Entry(tag, value, query))
    else:
        cache.drop(slug, what)


_PAGE_FIELDS = frozenset({"cursor", "etag", "items", "next"})


def check_pages(pages: Any, slug: str, resp: Any) -> None:
    """Refuse a cached paged read that is not a list of pages: each the cursor it was asked
    with (``None``: the first), its strong ETag, its items (objects) and the next cursor."""
    if not isinstance(pages, list) or not pages or not all(_is_page(p) for p in pages):
        raise ProtocolError("the cached paged read is not a list of pages", url=resp.url)


def _is_page(page: Any) -> bool:
    return (
        isinstance(page, dict)
        and set(page) == _PAGE_FIELDS
        and (page["cursor"] is None or isinstance(page["cursor"], str))
        and isinstance(page["etag"], str)
        and STRONG_ETAG.fullmatch(page["etag"]) is not None
        and isinstance(page["items"], list)
        and all(isinstance(e, dict) for e in page["items"])
        and (page["next"] is None or isinstance(page["next"], str))
    )


Fetch = Callable[[str | None, str | None], Awaitable[Any]]


async def paged_read(
    cache: ReadCache,
    slug: str,
    what: str,
    query: list[list[str]],
    fetch: Fetch,
    *,
    ident: str | None = None,
    max_pages: int = 100_000,
) -> list[dict[str, Any]]:
    """Every item of a cursor-paged read (``{"items": [...], "next_cursor": ...}``), each
    page asked conditionally: ``fetch(cursor, if_none_match)`` sends the read of the page at
    ``cursor`` (``None``: the first), with the ETag the cache holds for the same query and
    cursor. A ``304`` for that tag is the cached page; any other answer is read in full. The
    pages read are kept together as one entry (none when a page has no strong ETag).

    ``ident``: the field that names an item, for a log whose cursors are positions just past
    an item (the audit log: newest first, a page's ``next_cursor`` is "older than its last
    entry", which newer entries do not move). New entries move every page; a page read in
    full that holds the last item of a cached page (equal in full) is cut after it, and the
    read goes on from that cached page's cursor, where the cached pages are asked again.

    So a read of many pages where nothing changed is answered ``304`` page by page; one with
    new entries reads the pages down to where the cached ones start; and the items are
    exactly those a read without the cache gets: each page is the server's answer to a
    request, or a copy it said is current, cut only where a cursor of its own resumes."""
    cached = usable(cache, slug, what, check_pages, query)
    old_pages: list[dict[str, Any]] = cached.value if cached is not None else []
    known = {p["cursor"]: p for p in old_pages}
    ends = _ends(old_pages, ident)
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        old = known.get(cursor)
        resp = await fetch(cursor, old["etag"] if old is not None else None)
        if old is not None and still(cache, resp, Entry(old["etag"], None)):
            page = old
        else:
            if resp.status == 304:  # another tag than the one asked about: read it in full
                resp = await fetch(cursor, None)
            page = _resume(_page(resp, cursor), ends, ident)
        pages.append(page)
        cursor = page["next"]
        if cursor is None:
            break
        if cursor in seen:
            raise ProtocolError(
                "the server's paging cursor is invalid or repeats itself", url=resp.url
            )
        seen.add(cursor)
    else:
        raise ProtocolError(f"more than {max_pages} pages", url=resp.url)
    if all(p["etag"] for p in pages):
        cache.store(slug, what, Entry(pages[0]["etag"], pages, query))
    else:
        cache.drop(slug, what)
    return [item for p in pages for item in p["items"]]


def _ends(pages: list[dict[str, Any]], ident: str | None) -> dict[str, tuple[Any, str]]:
    """The last item of each cached page that has a next one, by its ``ident`` (as JSON), with
    that page's next cursor."""
    if ident is None:
        return {}
    return {
        json.dumps(p["items"][-1].get(ident)): (p["items"][-1], p["next"])
        for p in pages
        if p["items"] and p["next"] is not None and p["items"][-1].get(ident) is not None
    }


def _resume(
    page: dict[str, Any], ends: dict[str, tuple[Any, str]], ident: str | None
) -> dict[str, Any]:
    """``page`` cut after its first item that ends a cached page (the same in full), to go on
    from that page's next cursor; unchanged when it holds none."""
    if ident is None or not ends:
        return page
    for index, item in enumerate(page["items"]):
        end = ends.get(json.dumps(item.get(ident)))
        if end is not None and end[0] == item:
            return {**page, "items": page["items"][: index + 1], "next": end[1]}
    return page


def _page(resp: Any, cursor: str | None) -> dict[str, Any]:
    """A page answered in full, as the cache keeps it (``etag`` empty when not strong)."""
    body = resp.json_object()
    items = body.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ProtocolError("the page has no 'items' list of objects", method="GET", url=resp.url)
    nxt = body.get("next_cursor")
    if nxt == "":
        nxt = None
    if nxt is not None and not isinstance(nxt, str):
        raise ProtocolError(
            "the server's paging cursor is invalid or repeats itself", method="GET", url=resp.url
        )
    tag = (resp.headers.get("etag") or "").strip()
    tag = tag if STRONG_ETAG.fullmatch(tag) else ""
    return {"cursor": cursor, "etag": tag, "items": items, "next": nxt}


def check_folder(path: str | os.PathLike[str]) -> Path:
    """``path`` as a cache folder: an existing folder, or one that can be made there
    (SetupError naming it otherwise)."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise SetupError(f"the cache {folder} is not a folder")
    if not folder.exists() and not folder.parent.is_dir():
        raise SetupError(f"the cache {folder} cannot be made: {folder.parent} is not a folder")
    return folder


def _aad(head: dict[str, Any]) -> bytes:
    """What the encryption authenticates besides the data: the entry's visible fields."""
    return json.dumps(head, sort_keys=True, separators=(",", ":")).encode()
