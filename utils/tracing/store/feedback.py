"""Feedback rows: reactions, notes, custom payloads and evaluation scores attached to refs.

`call.feedback.add_reaction("👍")`, `add_note`, `add(type, payload)` and an Evaluation's
scorer results (`wandb.runnable.<scorer>` rows) all arrive as `feedback_create`; reads come
from `client.get_feedback(...)`, `call.feedback` and `get_calls(include_feedback=True)`.
Columns the client filters on are real columns; the long tail of scorer/span fields is kept
as sent in one JSON column and merged back on read.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping
from typing import Any

from weave.vendor.weave_server_sdk.types import (
    FeedbackBatchCreateResponse,
    FeedbackCreateResponse,
    FeedbackQueryResponse,
    FeedbackReplaceResponse,
)
from weave.vendor.weave_server_sdk.types.feedback_batch_create_response import Re

from utils.tracing.store.convert import dumps, from_us, loads, now_us
from utils.tracing.store.db import Database, marks
from utils.tracing.store.query import (
    Operand,
    QueryError,
    compile_order,
    compile_page,
    compile_query,
    json_field,
)

COLUMNS = (
    "id",
    "project_id",
    "weave_ref",
    "feedback_type",
    "payload",
    "creator",
    "created_at",
    "wb_user_id",
    "annotation_ref",
    "runnable_ref",
    "call_ref",
    "trigger_ref",
    "queue_id",
    "extra",
)
_TEXT = set(COLUMNS) - {"payload", "created_at", "extra"}
_NOT_EXTRA = set(COLUMNS) | {"feedback_id"}


def feedback_field(name: str) -> Operand:
    """Resolve a `$getField` name on feedback (e.g. `payload.emoji`, `feedback_type`)."""
    if name in _TEXT:
        return Operand("text", f"f.{name}")
    if name == "created_at":
        return Operand("time", "f.created_at")
    head, _, rest = name.partition(".")
    if head == "payload":
        return json_field("f.payload", rest)
    if head.startswith(("scorer_", "span_")):
        return json_field("f.extra", name)
    raise QueryError(f"unknown feedback field {name!r}")


def row_to_dict(row: sqlite3.Row | tuple) -> dict[str, Any]:
    """A feedback row (COLUMNS order) -> the dict shape `weave.trace.feedback.Feedback` takes."""
    values = dict(zip(COLUMNS, row, strict=True))
    extra = loads(values.pop("extra"), {})
    values["payload"] = loads(values["payload"], {})
    values["created_at"] = from_us(values["created_at"])
    return {**extra, **values}


class FeedbackStore:
    """feedback_create / _batch / _query / _purge / _replace, and feedback on calls."""

    def __init__(self, db: Database, user_id: str) -> None:
        self._db = db
        self._user_id = user_id

    def _insert(self, conn: sqlite3.Connection, req: Mapping[str, Any]) -> FeedbackCreateResponse:
        feedback_id = req.get("id") or str(uuid.uuid4())
        created = now_us()
        payload = dict(req.get("payload") or {})
        extra = {k: v for k, v in req.items() if k not in _NOT_EXTRA and v is not None}
        conn.execute(
            f"INSERT INTO feedback ({', '.join(COLUMNS)}) VALUES ({marks(COLUMNS)})",
            (
                feedback_id,
                req["project_id"],
                req["weave_ref"],
                req["feedback_type"],
                dumps(payload),
                req.get("creator"),
                created,
                req.get("wb_user_id") or self._user_id,
                req.get("annotation_ref"),
                req.get("runnable_ref"),
                req.get("call_ref"),
                req.get("trigger_ref"),
                req.get("queue_id"),
                dumps(extra),
            ),
        )
        return FeedbackCreateResponse(
            id=feedback_id,
            created_at=from_us(created),
            payload=payload,
            wb_user_id=req.get("wb_user_id") or self._user_id,
        )

    def create(self, req: Mapping[str, Any]) -> FeedbackCreateResponse:
        with self._db.write() as conn:
            return self._insert(conn, req)

    def create_batch(self, req: Mapping[str, Any]) -> FeedbackBatchCreateResponse:
        with self._db.write() as conn:
            made = [self._insert(conn, item) for item in req["batch"]]
        return FeedbackBatchCreateResponse(res=[Re(**m.model_dump()) for m in made])

    def replace(self, req: Mapping[str, Any]) -> FeedbackReplaceResponse:
        """Swap one feedback row for a new one (the UI's "edit")."""
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM feedback WHERE project_id = ? AND id = ?",
                (req["project_id"], req["feedback_id"]),
            )
            made = self._insert(conn, req)
        return FeedbackReplaceResponse(**made.model_dump())

    def query(self, req: Mapping[str, Any]) -> FeedbackQueryResponse:
        where, params = compile_query(req.get("query"), feedback_field)
        order, oparams = compile_order(req.get("sort_by"), feedback_field, "f.created_at, f.id")
        base = f"FROM feedback f WHERE f.project_id = ? AND {where}"
        cols = ", ".join(f"f.{c}" for c in COLUMNS)
        with self._db.snapshot() as conn:
            (total,) = conn.execute(
                f"SELECT COUNT(*) {base}", [req["project_id"], *params]
            ).fetchone()
            rows = conn.execute(
                f"SELECT {cols} {base} ORDER BY {order}"
                f"{compile_page(req.get('limit'), req.get('offset'))}",
                [req["project_id"], *params, *oparams],
            ).fetchall()
        result = [row_to_dict(r) for r in rows]
        if req.get("fields"):
            wanted = list(req["fields"])
            result = [{k: r.get(k) for k in wanted} for r in result]
        return FeedbackQueryResponse(result=result, total_count=total)

    def purge(self, req: Mapping[str, Any]) -> None:
        where, params = compile_query(req.get("query"), feedback_field)
        with self._db.write() as conn:
            conn.execute(
                f"DELETE FROM feedback AS f WHERE f.project_id = ? AND {where}",
                [req["project_id"], *params],
            )

    def attach_to_calls(self, conn: sqlite3.Connection, calls: list[dict[str, Any]]) -> None:
        """Set `summary.weave.feedback` on each call dict (one query for the whole page)."""
        if not calls:
            return
        by_ref = {f"weave:///{c['project_id']}/call/{c['id']}": c for c in calls}
        for c in calls:
            c["summary"]["weave"]["feedback"] = []
        refs = list(by_ref)
        cols = ", ".join(COLUMNS)
        for start in range(0, len(refs), 500):  # stay under SQLite's parameter limit
            chunk = refs[start : start + 500]
            rows = conn.execute(
                f"SELECT {cols} FROM feedback WHERE weave_ref IN ({marks(chunk)}) "
                "ORDER BY created_at, id",
                chunk,
            ).fetchall()
            for row in rows:
                item = row_to_dict(row)
                by_ref[item["weave_ref"]]["summary"]["weave"]["feedback"].append(item)
