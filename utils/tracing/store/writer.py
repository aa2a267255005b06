"""The call write path: call_start / call_end / call_update requests, batched into SQLite.

A traced function produces two writes (start and end), sent from the client's thread pool.
Committing each one separately would cost a transaction per write; instead each request is
appended, as received, to an in-memory batch, and one background thread turns the batch into
rows and commits it (one transaction, one `executemany` per statement). Keeping the client's
worker threads down to a list append is what keeps the store's cost per traced call small:
the work happens once per batch, in one thread, instead of contending for the GIL per call.
(The client builds fresh request dicts per call and never touches them again, so holding on
to them until the commit is safe.)

Correctness rules this module exists to keep:
- Starts, ends and display-name updates are *upserts on disjoint columns*: the thread pool
  can deliver an end (or an update) before its start, and whichever arrives first creates the
  row; nothing a later write does can erase what an earlier one stored.
- Nothing waits for the timer when it matters: every read of calls calls `flush()` first
  (read-your-writes), the weave client's `flush()`/`finish()` drains the batch through the
  processor hooks below, and `close()` runs at interpreter exit.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from utils.tracing.store.convert import StoreValueWarning, dumps, iter_refs, to_us
from utils.tracing.store.db import Database, marks
from utils.tracing.store.rules import op_base, op_short_name

log = logging.getLogger(__name__)

# Columns each kind of write owns. Starts and ends share only the keys; the full-row upsert is
# derived from the two lists, so adding a column to one write cannot silently miss the other.
KEY_COLUMNS = ("id", "project_id", "trace_id")
START_COLUMNS = (
    "parent_id", "thread_id", "turn_id", "op_name", "op_base", "op_short", "display_name",
    "started_at", "attributes", "inputs", "input_refs", "wb_user_id", "wb_run_id", "wb_run_step",
)  # fmt: skip
END_COLUMNS = ("ended_at", "exception", "output", "output_refs", "summary", "wb_run_step_end")


def _upsert_sql(columns: tuple[str, ...], update_keys: bool) -> str:
    """INSERT of `KEY_COLUMNS + columns`, updating only the columns this write owns."""
    names = KEY_COLUMNS + columns
    updated = (KEY_COLUMNS[1:] if update_keys else ()) + columns
    return (
        f"INSERT INTO calls ({', '.join(names)}) VALUES ({marks(names)}) "
        f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in updated)}"
    )


START_SQL = _upsert_sql(START_COLUMNS, update_keys=True)
END_SQL = _upsert_sql(END_COLUMNS, update_keys=False)
# A call whose start and end land in the same batch (most calls) is one full-row upsert
# instead of two partial ones.
FULL_SQL = _upsert_sql(START_COLUMNS + END_COLUMNS, update_keys=True)

UPDATE_SQL = """
INSERT INTO calls (id, project_id, display_name_set) VALUES (?, ?, ?)
ON CONFLICT(id) DO UPDATE SET display_name_set = excluded.display_name_set
"""

# How long the background thread lets a burst accumulate before committing it. Reads and
# client flushes do not wait for it; it only bounds how stale *another process* can be.
BATCH_DELAY_S = 0.05


# The size policy. The online service takes requests up to weave's REMOTE_REQUEST_BYTES_LIMIT
# (31 MiB, `weave.trace_server_bindings.http_utils`); a call start or end bigger than that is
# refused there. Locally the same limit applies per stored value (a call's inputs, output,
# attributes or summary; for inputs and dict outputs, per top-level entry first): a value over
# it is replaced by a small marked preview, with a warning, instead of being written in full
# to the file and again to its write-ahead log. `tests/tracing/test_tracing_write_path.py` checks the
# number against weave's.
MAX_VALUE_BYTES = (32 - 1) * 1024 * 1024
PREVIEW_CHARS = 1000
TOO_LARGE = "value too large"


def _utf8_size(text: str) -> int:
    # Characters are a lower bound of bytes, and 4x characters an upper one: encode only when
    # the answer is in doubt.
    if len(text) * 4 <= MAX_VALUE_BYTES:
        return len(text)
    return len(text.encode("utf-8"))


def _stand_in(value: Any, text: str, size: int, what: str) -> dict[str, Any]:
    """What is stored instead of a value over the limit: a marked preview (and a warning)."""
    warnings.warn(
        f"local trace store: {what} is {size:,} bytes, larger than the {MAX_VALUE_BYTES:,}-byte "
        "limit the online service has for one request; stored as a preview instead",
        StoreValueWarning,
        stacklevel=3,
    )
    preview = value if isinstance(value, str) else text
    return {
        "_course_store": TOO_LARGE,
        "bytes": size,
        "limit": MAX_VALUE_BYTES,
        "preview": preview[:PREVIEW_CHARS],
    }


def value_json(value: Any, what: str) -> str:
    """`dumps(value)`, within the size policy above."""
    text = dumps(value, what)
    size = _utf8_size(text)
    if size <= MAX_VALUE_BYTES:
        return text
    if isinstance(value, dict):  # cap the big entries first, so the small ones stay queryable
        capped = {}
        for key, item in value.items():
            item_text = dumps(item, what)
            item_size = _utf8_size(item_text)
            too_big = item_size > MAX_VALUE_BYTES
            capped[key] = (
                _stand_in(item, item_text, item_size, f"{what}[{key!r}]") if too_big else item
            )
        text = dumps(capped, what)
        size = _utf8_size(text)
        if size <= MAX_VALUE_BYTES:
            return text
    return dumps(_stand_in(value, text, size, what))


def _refs_json(value: Any) -> str | None:
    refs = sorted(set(iter_refs(value)))
    return dumps(refs) if refs else None


def start_row(start: Mapping[str, Any], call_id: str, trace_id: str, user_id: str) -> tuple:
    """A call_start request's `start` dict as a row for START_SQL."""
    op_name = start["op_name"]
    inputs = start.get("inputs") or {}
    return (
        call_id,
        start["project_id"],
        trace_id,
        start.get("parent_id"),
        start.get("thread_id"),
        start.get("turn_id"),
        op_name,
        op_base(op_name),
        op_short_name(op_name),
        start.get("display_name") or None,
        to_us(start["started_at"]),
        value_json(start.get("attributes") or {}, f"the attributes of call {call_id}"),
        value_json(inputs, f"the inputs of call {call_id}"),
        _refs_json(inputs),
        start.get("wb_user_id") or user_id,
        start.get("wb_run_id"),
        start.get("wb_run_step"),
    )


def end_row(end: Mapping[str, Any]) -> tuple:
    """A call_end request's `end` dict as a row for END_SQL."""
    output = end.get("output")
    call_id = end["id"]
    return (
        end["id"],
        end["project_id"],
        end.get("trace_id"),
        to_us(end["ended_at"]),
        end.get("exception"),
        value_json(output, f"the output of call {call_id}"),
        _refs_json(output),
        value_json(end.get("summary") or {}, f"the summary of call {call_id}"),
        end.get("wb_run_step_end"),
    )


def pair_up(starts: list[tuple], ends: list[tuple]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Split a batch into full rows (start and end both present) and lone halves."""
    if not starts or not ends:
        return [], starts, ends
    ends_by_id = {end[0]: end for end in ends}
    full: list[tuple] = []
    lone_starts: list[tuple] = []
    for start in starts:
        end = ends_by_id.pop(start[0], None)
        if end is None:
            lone_starts.append(start)
        else:  # END_SQL columns after id, project_id, trace_id
            full.append(start + end[3:])
    return full, lone_starts, list(ends_by_id.values())


def _report_dropped(call_id: object, err: BaseException) -> None:
    """Say, loudly, that one call request could not be stored (its batch neighbours were)."""
    log.error("local trace store: call %s could not be stored: %r", call_id, err)
    warnings.warn(
        f"local trace store: call {call_id} could not be stored ({type(err).__name__}: {err}); "
        "the other calls written with it were stored",
        StoreValueWarning,
        stacklevel=4,
    )


class CallWriter:
    """Buffers call rows and commits them in batches from one background thread.

    It also plays the part of the "server-side batch processor" the weave client looks for
    (`num_outstanding_jobs`, `stop_accepting_new_work_and_flush_queue`, `accept_new_work`),
    so `client.flush()` and `client.finish()` leave every call on disk.
    """

    def __init__(self, db: Database, delay_s: float = BATCH_DELAY_S) -> None:
        self._db = db
        self._delay_s = delay_s
        self._buffer_lock = threading.Lock()
        self._flush_lock = threading.Lock()  # batches are written in the order they were cut
        self._starts: list[tuple] = []
        self._ends: list[tuple] = []
        self._updates: list[tuple] = []
        self.dropped = 0  # call requests that could not be stored at all (each one warned)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="course-trace-writer", daemon=True)
        self._thread.start()

    # -- producers (client worker threads): keep these cheap, rows are built at commit time
    def add_start(
        self, start: Mapping[str, Any], call_id: str, trace_id: str, user_id: str
    ) -> None:
        self._add(self._starts, (start, call_id, trace_id, user_id))

    def add_end(self, end: Mapping[str, Any]) -> None:
        self._add(self._ends, (end,))

    def add_display_name(self, call_id: str, project_id: str, display_name: str | None) -> None:
        self._add(self._updates, (call_id, project_id, display_name or ""))

    def _add(self, bucket: list[tuple], row: tuple) -> None:
        with self._buffer_lock:
            bucket.append(row)
            first = len(self._starts) + len(self._ends) + len(self._updates) == 1
        if self._closed:  # after close (e.g. interpreter exit): commit right away
            self.flush()
        elif first:  # the writer thread only needs waking once per batch
            self._wake.set()

    # -- consumers
    @property
    def num_outstanding_jobs(self) -> int:
        """Rows waiting to be committed."""
        return len(self._starts) + len(self._ends) + len(self._updates)

    def flush(self) -> None:
        """Commit everything buffered so far (callers then read a complete picture).

        A batch is one transaction. If it fails because of one row (a value SQLite cannot
        hold), it is written again row by row, so only that row is lost, with a warning. If it
        fails because the file is busy or full (`OperationalError`), nothing is lost: the whole
        batch goes back in front of the buffer for the next flush, and the error is raised.
        """
        with self._flush_lock:
            with self._buffer_lock:
                starts, ends, updates = self._starts, self._ends, self._updates
                self._starts, self._ends, self._updates = [], [], []
            if not (starts or ends or updates):
                return
            try:
                full, lone_starts, lone_ends = pair_up(
                    self._build(start_row, starts), self._build(end_row, ends)
                )
                groups = (
                    (FULL_SQL, full),
                    (START_SQL, lone_starts),
                    (END_SQL, lone_ends),
                    (UPDATE_SQL, updates),
                )
                try:
                    with self._db.write() as conn:
                        for sql, rows in groups:
                            if rows:
                                conn.executemany(sql, rows)
                except sqlite3.OperationalError:
                    raise
                except Exception:
                    self._write_row_by_row(groups)
            except sqlite3.OperationalError:
                # Transient (a lock held past the busy timeout, a full disk): put the batch
                # back in front so nothing is lost; the next flush retries it.
                with self._buffer_lock:
                    self._starts[:0], self._ends[:0], self._updates[:0] = starts, ends, updates
                raise

    def _build(self, make_row: Callable[..., tuple], items: list[tuple]) -> list[tuple]:
        """Rows for buffered requests; a request that cannot become a row is reported."""
        rows = []
        for item in items:
            try:
                rows.append(make_row(*item))
            except Exception as err:
                request = item[0] if item and isinstance(item[0], Mapping) else {}
                self.dropped += 1
                _report_dropped(item[1] if len(item) > 1 else request.get("id"), err)
        return rows

    def _write_row_by_row(self, groups: Sequence[tuple[str, list[tuple]]]) -> None:
        """One savepoint per row: a row SQLite refuses is rolled back alone and reported."""
        with self._db.write() as conn:
            for sql, rows in groups:
                for row in rows:
                    conn.execute("SAVEPOINT course_row")
                    try:
                        conn.execute(sql, row)
                    except sqlite3.OperationalError:
                        conn.execute("ROLLBACK TO course_row")
                        raise
                    except Exception as err:
                        conn.execute("ROLLBACK TO course_row")
                        self.dropped += 1
                        _report_dropped(row[0], err)
                    finally:
                        conn.execute("RELEASE course_row")

    def stop_accepting_new_work_and_flush_queue(self) -> None:
        """Client hook (called by `WeaveClient.flush`/`finish`): commit the batch now."""
        self.flush()

    def accept_new_work(self) -> None:
        """Client hook paired with the one above; the writer never stops accepting."""

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._closing.wait(self._delay_s)  # let the burst grow into one transaction
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the rows were re-queued; report and keep the thread alive
                log.exception("local trace store: committing a batch of calls failed")
            if self._closed:
                return

    def close(self) -> None:
        """Stop the thread and commit what is left; later writes commit one by one.

        At interpreter exit, weave's own exit handlers (unfinished EvaluationLoggers) can
        still produce calls after this store's handler ran; they must not be lost.
        Safe to call twice.
        """
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self.flush()
