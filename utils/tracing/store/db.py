"""The SQLite file behind the local trace store: connection settings, schema, transactions.

Why these settings:
- WAL journal: readers never block the writer, so a notebook can query while its thread pool
  writes, and a second process (a served app, a subprocess) can share the same file.
- `BEGIN IMMEDIATE` for every write: the write lock is taken up front, so two processes wait
  on the busy timeout instead of one failing with "database is locked" halfway through a
  read-then-write (e.g. assigning the next object version number).
- `synchronous=NORMAL`: with WAL a commit is not fsynced, only checkpoints are. A power cut can
  lose the last few traces, never corrupt the file; for a course store that is the right trade.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
from collections.abc import Iterator, Sequence, Sized
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2  # 2: JSON columns hold only JSON that SQLite accepts (no bare NaN/Infinity)
BUSY_TIMEOUT_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);

CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    trace_id TEXT,
    parent_id TEXT,
    thread_id TEXT,
    turn_id TEXT,
    op_name TEXT,
    op_base TEXT,              -- op ref without its version, for `name:*` filters
    op_short TEXT,             -- bare op name, the default trace name
    display_name TEXT,         -- as sent by call_start
    display_name_set TEXT,     -- as sent by call_update ('' = removed), wins over the above
    started_at INTEGER,        -- epoch microseconds, NULL until call_start has arrived
    ended_at INTEGER,          -- NULL while running
    attributes TEXT,
    inputs TEXT,
    input_refs TEXT,           -- JSON array of weave:/// refs found in inputs
    output TEXT,
    output_refs TEXT,
    summary TEXT,
    exception TEXT,
    wb_user_id TEXT,
    wb_run_id TEXT,
    wb_run_step INTEGER,
    wb_run_step_end INTEGER,
    deleted_at INTEGER
);
CREATE INDEX IF NOT EXISTS calls_by_start ON calls (project_id, started_at);
CREATE INDEX IF NOT EXISTS calls_by_op ON calls (project_id, op_base);
CREATE INDEX IF NOT EXISTS calls_by_trace ON calls (trace_id);
CREATE INDEX IF NOT EXISTS calls_by_parent ON calls (parent_id);

CREATE TABLE IF NOT EXISTS objects (
    project_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    kind TEXT NOT NULL,
    base_object_class TEXT,
    leaf_object_class TEXT,
    val TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    version_index INTEGER NOT NULL,
    wb_user_id TEXT,
    deleted_at INTEGER,
    PRIMARY KEY (project_id, object_id, digest)
);
CREATE INDEX IF NOT EXISTS objects_by_version ON objects (project_id, object_id, version_index);

CREATE TABLE IF NOT EXISTS object_tags (
    project_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (project_id, object_id, digest, tag)
);

CREATE TABLE IF NOT EXISTS object_aliases (
    project_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    alias TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (project_id, object_id, alias)
);

CREATE TABLE IF NOT EXISTS tables (
    project_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    row_digests TEXT NOT NULL,
    PRIMARY KEY (project_id, digest)
);

CREATE TABLE IF NOT EXISTS table_rows (
    project_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    val TEXT NOT NULL,
    PRIMARY KEY (project_id, digest)
);

CREATE TABLE IF NOT EXISTS files (
    project_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (project_id, digest)
);

CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    weave_ref TEXT NOT NULL,
    feedback_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    creator TEXT,
    created_at INTEGER NOT NULL,
    wb_user_id TEXT,
    annotation_ref TEXT,
    runnable_ref TEXT,
    call_ref TEXT,
    trigger_ref TEXT,
    queue_id TEXT,
    extra TEXT NOT NULL        -- the scorer_*/span_* fields, kept as sent
);
CREATE INDEX IF NOT EXISTS feedback_by_ref ON feedback (project_id, weave_ref);

CREATE TABLE IF NOT EXISTS costs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    llm_id TEXT NOT NULL,
    provider_id TEXT,
    prompt_token_cost REAL NOT NULL,
    completion_token_cost REAL NOT NULL,
    cache_read_input_token_cost REAL NOT NULL DEFAULT 0,
    cache_creation_input_token_cost REAL NOT NULL DEFAULT 0,
    prompt_token_cost_unit TEXT,
    completion_token_cost_unit TEXT,
    effective_date INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS costs_by_llm ON costs (project_id, llm_id, effective_date);
"""


def _to_number(value: Any) -> float | None:
    """SQL `course_num(x)`: a number, or NULL when x is not one (what `$convert` needs)."""
    if value is None or isinstance(value, bytes):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def marks(count: int | Sized) -> str:
    """`?, ?, ?`: the parameter list for `count` values (or for each item of a collection)."""
    n = count if isinstance(count, int) else len(count)
    return ", ".join("?" * n)


# JSON columns that queries read with SQLite's JSON functions: (table, column).
JSON_COLUMNS = (
    ("calls", "inputs"),
    ("calls", "output"),
    ("calls", "attributes"),
    ("calls", "summary"),
    ("feedback", "payload"),
    ("feedback", "extra"),
    ("table_rows", "val"),
)


def _repair_json(conn: sqlite3.Connection) -> int:
    """Rewrite values an earlier store wrote as `NaN`/`Infinity` (Python's JSON, not SQLite's).

    Python reads them back; re-encoding stores null, as new writes do. Returns rows fixed.
    """
    from utils.tracing.store.convert import dumps, loads

    fixed = 0
    for table, column in JSON_COLUMNS:
        bad = conn.execute(
            f"SELECT rowid, {column} FROM {table} "
            f"WHERE {column} IS NOT NULL AND NOT json_valid({column})"
        ).fetchall()
        for rowid, text in bad:
            try:
                repaired = dumps(loads(text))
            except ValueError:
                continue  # not JSON for Python either: leave it for a human to look at
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (repaired, rowid))
            fixed += 1
    return fixed


class StoreVersionError(RuntimeError):
    """The file was written by a newer store layout than this code understands."""


class Database:
    """One connection plus the lock that serialises this process's use of it.

    A single connection (rather than one per thread) keeps the write path simple: the
    client's worker threads hand requests to `utils.tracing.store.writer`, and every statement
    runs under `lock`. SQLite releases the GIL while it works, so this costs little.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.lock = threading.RLock()
        self._depth = 0  # open transaction nesting, only touched while holding `lock`
        self.conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_S,
            check_same_thread=False,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
        )
        self.conn.create_function("course_num", 1, _to_number, deterministic=True)
        self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if self.path != ":memory:":
            self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self._create_schema()

    def _create_schema(self) -> None:
        with self.write() as conn:
            # Statement by statement: `executescript` would commit our open transaction.
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row[0]) < SCHEMA_VERSION:
                _repair_json(conn)
                conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreVersionError(
                    f"{self.path} uses store layout {row[0]}, newer than this code "
                    f"({SCHEMA_VERSION}); update the course repository or delete the file."
                )

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds SQLite's write lock from its first statement.

        Nested use (a write or snapshot inside another) joins the outer transaction.
        """
        with self._transaction("BEGIN IMMEDIATE") as conn:
            yield conn

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same state of the file."""
        with self._transaction("BEGIN") as conn:
            yield conn

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute(begin)
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self._depth = 0
                self.conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self.conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one SELECT and return all rows."""
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self.lock:
            self.conn.close()
