"""Storage of the sandbox: tables, engines, transactions and the schema version.

Every settings item of every kind lives in one generic table, ``items``: one row per item,
keyed by (workspace, kind, identity), holding the item's canonical JSON text with its ETag
spliced in as the last member (``body``: exactly what the API answers) and the ETag itself.
Singletons (workspace profile, call rules, notifications) are items with the empty identity.
Two helper columns make the platform rules cheap without parsing JSON:

- ``ref``: what the item points at (a member's role), indexed, so "role in use" and "active
  owners" are index look-ups;
- ``expires_at``: set while a member invitation is pending; reads show ``expired`` past it.

SQLite (the default, a file in WAL mode) and PostgreSQL are both supported. Writes are
serialized per workspace: SQLite by ``BEGIN IMMEDIATE``, PostgreSQL by locking the workspace
row (:func:`lock_workspace`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql

from ..errors import SetupError
from .records import SCHEMA_VERSION as SCHEMA_VERSION

DEFAULT_DB_PATH = ".wscfg/sandbox.db"
LOCK_WAIT = 30.0  # seconds a write waits for the write lock unless told otherwise

metadata = MetaData()

# Identities sort byte-wise everywhere ("C" collation on PostgreSQL, BINARY on SQLite).
KeyText = Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")

schema_version = Table(
    "wscfg_schema",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
)

agencies = Table(
    "agencies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", KeyText, nullable=False, unique=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=True, index=True),
    Column("created_at", Text, nullable=False),
    Column("version", Integer, nullable=False, default=0),
    # v6: the workspace's identity ("ws_" + 16 hex digits, random, never reused): a slug can
    # be taken again by another workspace, this cannot (saved plans are bound to it)
    Column("uid", Text, nullable=True),
    Index("workspaces_uid", "uid", unique=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("secret_hash", Text, nullable=False, unique=True),
    Column("prefix", Text, nullable=False),
    Column("name", Text, nullable=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=True, index=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=True),
    Column("scopes", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("revoked_at", Text, nullable=True),
    Column("as_user", Text, nullable=True),  # a member's email: the key writes as them, via the UI
    # v5: keys managed as settings (the api_keys kind; their item holds the same values)
    Column("managed", Integer, nullable=True),  # 1: created through the settings API by name
    Column("mode", Text, nullable=True),  # live | test
    Column("description", Text, nullable=True),
    Column("expires", Text, nullable=True),  # YYYY-MM-DD: the last day the key works
    Column("rotation", Integer, nullable=True),
)

items = Table(
    "items",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("ident", KeyText, nullable=False),
    Column("body", Text, nullable=False),
    Column("etag", Text, nullable=False),
    Column("ref", Text, nullable=True),
    Column("expires_at", Text, nullable=True),
    Column("updated_at", Text, nullable=False),
    PrimaryKeyConstraint("workspace_id", "kind", "ident", name="items_pk"),
    Index("items_ref", "workspace_id", "kind", "ref"),
    sqlite_with_rowid=False,
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("at", Text, nullable=False),
    Column("request_id", Text, nullable=True),
    Column("client_request_id", Text, nullable=True),
    Column("actor", Text, nullable=False),  # the key id, or "admin"
    Column("actor_type", Text, nullable=True),  # api_key | user | system
    Column("actor_name", Text, nullable=True),
    Column("via", Text, nullable=True),  # api | ui
    Column("client", Text, nullable=True),  # the User-Agent product token
    Column("action", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("ident", Text, nullable=False),
    Column("fields", Text, nullable=True),  # JSON list of the changed field names
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Index("audit_ws", "workspace_id", "id"),
    Index("audit_item", "workspace_id", "kind", "ident"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("api_key_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("headers", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    PrimaryKeyConstraint("api_key_id", "key", name="idempotency_pk"),
    Index("idempotency_created", "created_at"),
)


def _v1_to_v2(conn: Connection) -> None:
    """v1 kept ``items.data`` (canonical JSON) and 32-hex ETags; v2 keeps ``items.body``
    (the JSON with its 16-hex ETag spliced in, served as is)."""
    from .records import etag_of, with_etag

    conn.exec_driver_sql("ALTER TABLE items ADD COLUMN body TEXT")
    rows = conn.exec_driver_sql("SELECT workspace_id, kind, ident, data FROM items").all()
    updates = []
    for ws_id, kind, ident, text in rows:
        etag = etag_of(text)
        updates.append(
            {
                "b_ws": ws_id,
                "b_kind": kind,
                "b_ident": ident,
                "body": with_etag(text, etag),
                "etag": etag,
            }
        )
    if updates:
        conn.execute(
            items.update()
            .where(
                items.c.workspace_id == bindparam("b_ws"),
                items.c.kind == bindparam("b_kind"),
                items.c.ident == bindparam("b_ident"),
            )
            .values(body=bindparam("body"), etag=bindparam("etag")),
            updates,
        )
    conn.exec_driver_sql("ALTER TABLE items DROP COLUMN data")


def _v2_to_v3(conn: Connection) -> None:
    """v3 keeps the caller's ``X-Request-Id`` apart (``audit.client_request_id``) and never
    stores a non-finite number: ones stored by older versions (``Infinity``, ``NaN``, which
    made reads answer invalid JSON) are dropped from items and nulled in the audit log."""
    from .records import etag_of, finite_text, with_etag, without_etag

    if "client_request_id" not in {c["name"] for c in inspect(conn).get_columns("audit")}:
        conn.exec_driver_sql("ALTER TABLE audit ADD COLUMN client_request_id TEXT")
    poisoned = "body LIKE '%Infinity%' OR body LIKE '%NaN%'"
    for ws_id, kind, ident, body, etag in conn.exec_driver_sql(
        f"SELECT workspace_id, kind, ident, body, etag FROM items WHERE {poisoned}"
    ).all():
        text = finite_text(without_etag(body, etag), drop=True)
        new = etag_of(text)
        conn.execute(
            items.update()
            .where(items.c.workspace_id == ws_id, items.c.kind == kind, items.c.ident == ident)
            .values(body=with_etag(text, new), etag=new)
        )
    for column in ("before", "after"):
        rows = conn.exec_driver_sql(
            f"SELECT id, {column} FROM audit WHERE {column} LIKE '%Infinity%'"
            f" OR {column} LIKE '%NaN%'"
        ).all()
        for audit_id, text in rows:
            conn.execute(
                audit.update()
                .where(audit.c.id == audit_id)
                .values({column: finite_text(text, drop=False)})
            )


def _v3_to_v4(conn: Connection) -> None:
    """v4 says who wrote, how and with what: ``audit.actor_type``, ``actor_name``, ``via``,
    ``client`` and ``fields`` (the changed field names); keys may write as a member
    (``api_keys.as_user``). Older entries read as written by their key (by its name when it has
    one) via the API, or by the platform for ``admin``; their fields come from before/after."""
    import json

    from .records import ADMIN_NAME, SYSTEM, changed_fields

    have = {c["name"] for c in inspect(conn).get_columns("audit")}
    for column in ("actor_type", "actor_name", "via", "client", "fields"):
        if column not in have:
            conn.exec_driver_sql(f"ALTER TABLE audit ADD COLUMN {column} TEXT")
    if "as_user" not in {c["name"] for c in inspect(conn).get_columns("api_keys")}:
        conn.exec_driver_sql("ALTER TABLE api_keys ADD COLUMN as_user TEXT")
    names: dict[str, str | None] = {
        row[0]: row[1] for row in conn.exec_driver_sql("SELECT id, name FROM api_keys").all()
    }
    rows = conn.exec_driver_sql("SELECT id, actor, before, after FROM audit").all()
    for audit_id, actor, before, after in rows:
        system = actor == ADMIN_NAME
        conn.execute(
            audit.update()
            .where(audit.c.id == audit_id)
            .values(
                actor_type=SYSTEM if system else "api_key",
                actor_name=actor if system else (names.get(actor) or actor),
                via="api",
                fields=json.dumps(changed_fields(before, after)),
            )
        )
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS audit_item ON audit (workspace_id, kind, ident)"
    )


def _v4_to_v5(conn: Connection) -> None:
    """v5 manages API keys as settings: ``api_keys.managed``, ``mode``, ``description``,
    ``expires`` and ``rotation``. Older keys were issued by the platform (``wscfg sandbox``):
    they stay unmanaged, live keys that never expire."""
    have = {c["name"] for c in inspect(conn).get_columns("api_keys")}
    for column, kind in (
        ("managed", "INTEGER"),
        ("mode", "TEXT"),
        ("description", "TEXT"),
        ("expires", "TEXT"),
        ("rotation", "INTEGER"),
    ):
        if column not in have:
            conn.exec_driver_sql(f"ALTER TABLE api_keys ADD COLUMN {column} {kind}")
    conn.exec_driver_sql("UPDATE api_keys SET managed = 0, mode = 'live' WHERE managed IS NULL")


def _v5_to_v6(conn: Connection) -> None:
    """v6 gives every workspace a stable identity, ``workspaces.uid``, shown in its snapshot
    (``workspace_id``); existing workspaces get a fresh one."""
    if "uid" not in {c["name"] for c in inspect(conn).get_columns("workspaces")}:
        conn.exec_driver_sql("ALTER TABLE workspaces ADD COLUMN uid TEXT")
    for (ws_id,) in conn.exec_driver_sql("SELECT id FROM workspaces WHERE uid IS NULL").all():
        conn.execute(workspaces.update().where(workspaces.c.id == ws_id).values(uid=new_uid()))
    conn.exec_driver_sql("CREATE UNIQUE INDEX IF NOT EXISTS workspaces_uid ON workspaces (uid)")


def _v6_to_v7(conn: Connection) -> None:
    """v7 keeps ``workspaces.version`` a revision of everything a snapshot shows: triggers
    bump it on every write to a workspace's items or API keys (:func:`install_triggers`)."""
    install_triggers(conn)


def _v7_to_v8(conn: Connection) -> None:
    """v8: on PostgreSQL, an update moving a row to another workspace bumps both, and a
    TRUNCATE bumps every workspace (:func:`install_triggers`, re-created)."""
    install_triggers(conn)


# Every write to a table whose rows a snapshot shows bumps ``workspaces.version`` in the same
# transaction, whoever writes (a route, the administration, a fault, raw SQL): the conditional
# read (validators.Validators) trusts an ETag computed at an unchanged version.
REVISED_TABLES = ("items", "api_keys")
_SQLITE_TRIGGER = """CREATE TRIGGER IF NOT EXISTS {table}_revision_{op} AFTER {op} ON {table}
BEGIN UPDATE workspaces SET version = version + 1 WHERE id IN ({ids}); END"""
# PostgreSQL: once per transaction and workspace (a setting local to the transaction holds the
# workspaces already bumped, and is undone with a rolled-back savepoint), so a batch of 10,000
# rows costs one row update, not 10,000: nothing sees the new version before the commit anyway.
# An update bumps the workspace a row leaves as well as the one it is in (as on SQLite).
_PG_FUNCTION = """CREATE OR REPLACE FUNCTION wscfg_revision() RETURNS trigger AS $$
DECLARE
  ids integer[];
  ws integer;
  done text := coalesce(current_setting('wscfg.revised', true), '');
BEGIN
  IF TG_OP = 'INSERT' THEN ids := ARRAY[NEW.workspace_id];
  ELSIF TG_OP = 'DELETE' THEN ids := ARRAY[OLD.workspace_id];
  ELSE ids := ARRAY[OLD.workspace_id, NEW.workspace_id];
  END IF;
  FOREACH ws IN ARRAY ids LOOP
    IF ws IS NOT NULL AND position(',' || ws || ',' in done) = 0 THEN
      UPDATE workspaces SET version = version + 1 WHERE id = ws;
      done := coalesce(nullif(done, ''), ',') || ws || ',';
      PERFORM set_config('wscfg.revised', done, true);
    END IF;
  END LOOP;
  RETURN NULL;
END $$ LANGUAGE plpgsql"""
_PG_TRIGGER = """CREATE TRIGGER {table}_revision_{op} AFTER {op} ON {table}
FOR EACH ROW EXECUTE FUNCTION wscfg_revision()"""
# TRUNCATE fires no row trigger: it bumps every workspace (SQLite has no TRUNCATE; its DELETE
# without WHERE runs the row triggers)
_PG_TRUNCATED = """CREATE OR REPLACE FUNCTION wscfg_truncated() RETURNS trigger AS $$
BEGIN
  UPDATE workspaces SET version = version + 1;
  RETURN NULL;
END $$ LANGUAGE plpgsql"""
_PG_TRUNCATE_TRIGGER = """CREATE TRIGGER {table}_revision_truncate AFTER TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION wscfg_truncated()"""


def install_triggers(conn: Connection) -> None:
    """Create (or re-create) the triggers that keep ``workspaces.version`` current."""
    ops = {"insert": "NEW.workspace_id", "update": "OLD.workspace_id, NEW.workspace_id"}
    ops["delete"] = "OLD.workspace_id"
    if is_sqlite(conn):
        for table in REVISED_TABLES:
            for op, ids in ops.items():
                conn.exec_driver_sql(_SQLITE_TRIGGER.format(table=table, op=op, ids=ids))
        return
    conn.exec_driver_sql(_PG_FUNCTION)
    conn.exec_driver_sql(_PG_TRUNCATED)
    for table in REVISED_TABLES:
        for op in (*ops, "truncate"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_revision_{op} ON {table}")
            made = _PG_TRUNCATE_TRIGGER if op == "truncate" else _PG_TRIGGER
            conn.exec_driver_sql(made.format(table=table, op=op))


def new_uid() -> str:
    """A workspace identity: random, so it says nothing and is never reused."""
    import secrets

    return "ws_" + secrets.token_hex(8)


# version -> function migrating a database of that version to version + 1
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
    5: _v5_to_v6,
    6: _v6_to_v7,
    7: _v7_to_v8,
}


def normalize_url(url_or_path: str | None) -> str:
    """A database URL from a URL or a plain file path (SQLite); ``None`` = the embedded one."""
    if not url_or_path:
        url_or_path = DEFAULT_DB_PATH
    if "://" in url_or_path:
        if url_or_path.startswith("postgresql://"):
            return "postgresql+psycopg://" + url_or_path[len("postgresql://") :]
        return url_or_path
    return "sqlite:///" + str(Path(url_or_path))


_engines: dict[str, Engine] = {}
_ready: set[str] = set()
_lock = threading.Lock()


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url``, its schema created or migrated on first use."""
    url = normalize_url(url)
    engine = _engines.get(url)
    if engine is not None and url in _ready:
        return engine
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _make_engine(url)
            _engines[url] = engine
        if url not in _ready:
            init_schema(engine)
            _ready.add(url)
    return engine


def dispose(url: str) -> None:
    """Close the pooled connections of ``url``'s engine (tests, server shutdown)."""
    url = normalize_url(url)
    with _lock:
        engine = _engines.pop(url, None)
        _ready.discard(url)
    if engine is not None:
        engine.dispose()


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path or path == ":memory:":
            raise SetupError("the sandbox needs a SQLite file (sqlite:///path.db), not :memory:")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=32,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise SetupError(
                "PostgreSQL needs the optional dependency: pip install 'wscfg[postgres]'"
            ) from None
        return create_engine(url, pool_size=8, max_overflow=32, pool_pre_ping=True)
    raise SetupError(f"unsupported database URL {url!r} (use sqlite:///FILE or postgresql://…)")


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get("wscfg_write", False):
        wait_ms = int(options.get("wscfg_lock_wait", LOCK_WAIT) * 1000)
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {max(1, wait_ms)}")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def init_schema(engine: Engine) -> None:
    """Create missing tables, record the schema version, run pending migrations."""
    with engine.connect().execution_options(wscfg_write=True) as conn, conn.begin():
        metadata.create_all(conn, checkfirst=True)
        found = conn.execute(select(schema_version.c.version)).scalar()
        if found is None:
            install_triggers(conn)
            conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))
            return
        if found > SCHEMA_VERSION:
            raise SetupError(
                f"the sandbox database was written by a newer wscfg (schema {found}; this "
                f"version reads up to {SCHEMA_VERSION}); upgrade wscfg"
            )
        while found < SCHEMA_VERSION:
            MIGRATIONS[found](conn)
            found += 1
            conn.execute(schema_version.update().values(version=found))


@contextmanager
def transaction(
    engine: Engine, *, write: bool = False, lock_wait: float | None = None, one_view: bool = False
) -> Iterator[Connection]:
    """One transaction: a consistent snapshot for reads; ``write`` takes the write lock on
    SQLite at once (``BEGIN IMMEDIATE``) so two writers never dead-lock on an upgrade, waiting
    for it at most ``lock_wait`` seconds (default :data:`LOCK_WAIT`; then "database is
    locked", which the HTTP layer answers as 503). ``one_view``: every statement sees the
    database as the first did, also on PostgreSQL (repeatable read; its default, read
    committed, shows each statement the commits made since the last), as SQLite in WAL mode
    always does: for an answer read in several statements whose ETag must be of its bytes."""
    with engine.connect() as conn:
        if write:
            conn.execution_options(wscfg_write=True, wscfg_lock_wait=lock_wait or LOCK_WAIT)
        elif one_view and not is_sqlite(conn):
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if write and lock_wait is not None and not is_sqlite(conn):
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(lock_wait * 1000))}")
            yield conn


def lock_workspace(conn: Connection, workspace_id: int) -> None:
    """Serialize writes to one workspace (PostgreSQL; SQLite writers are already serial)."""
    if not is_sqlite(conn):
        conn.execute(
            select(workspaces.c.id).where(workspaces.c.id == workspace_id).with_for_update()
        )


def lock_agency(conn: Connection, agency_id: int) -> None:
    if not is_sqlite(conn):
        conn.execute(select(agencies.c.id).where(agencies.c.id == agency_id).with_for_update())
