"""Reading calls back: filters, queries, sorting, paging, and the derived summary fields.

What the real server adds on read, and so does this module:
- `summary.weave.status`: error (own exception), running (no end yet), descendant_error
  (a child failed: the client rolls `status_counts` up from children), else success;
- `summary.weave.latency_ms` (end - start) and `summary.weave.trace_name` (display name, or the
  op's bare name; `Evaluation.get_scores()` groups scorer calls by it);
- with `include_costs`, `summary.weave.costs[model]` priced from `summary.usage[model]`;
- with `include_feedback`, `summary.weave.feedback` (the call's feedback rows).

A call whose end arrived before its start exists on disk as a half row; it is invisible here
until the start lands (`started_at IS NOT NULL`), so readers never see an op-less call.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from weave.vendor.weave_server_sdk.types.call_read_response import Call

from utils.tracing.store.convert import from_us, loads, now_us
from utils.tracing.store.costs import Costs
from utils.tracing.store.db import Database, marks
from utils.tracing.store.feedback import FeedbackStore
from utils.tracing.store.query import (
    Operand,
    QueryError,
    compile_order,
    compile_page,
    compile_query,
    json_field,
    json_path,
    sql_str,
)
from utils.tracing.store.rules import call_status, status_sql
from utils.tracing.store.writer import CallWriter

DISPLAY_NAME_SQL = (
    "(CASE WHEN c.display_name_set IS NULL THEN c.display_name "
    "ELSE NULLIF(c.display_name_set, '') END)"
)
STATUS_SQL = status_sql("c")
LATENCY_SQL = "((c.ended_at - c.started_at) / 1000)"

_TEXT_COLUMNS = (
    "id",
    "project_id",
    "trace_id",
    "parent_id",
    "thread_id",
    "turn_id",
    "op_name",
    "exception",
    "wb_user_id",
    "wb_run_id",
)
_DERIVED: dict[str, Operand] = {
    "display_name": Operand("text", DISPLAY_NAME_SQL),
    "summary.weave.status": Operand("text", STATUS_SQL),
    "summary.weave.latency_ms": Operand("number", LATENCY_SQL),
    "summary.weave.trace_name": Operand("text", f"COALESCE({DISPLAY_NAME_SQL}, c.op_short)"),
    "started_at": Operand("time", "c.started_at"),
    "ended_at": Operand("time", "c.ended_at"),
    "wb_run_step": Operand("number", "c.wb_run_step"),
    "wb_run_step_end": Operand("number", "c.wb_run_step_end"),
}
_JSON_COLUMNS = ("inputs", "output", "attributes", "summary")
_FEEDBACK_COLUMNS = ("id", "feedback_type", "creator", "runnable_ref", "call_ref", "annotation_ref")

SELECT_COLUMNS = (
    "c.id, c.project_id, c.trace_id, c.parent_id, c.thread_id, c.turn_id, c.op_name, "
    f"c.op_short, {DISPLAY_NAME_SQL}, c.started_at, c.ended_at, c.attributes, c.inputs, "
    "c.output, c.summary, c.exception, c.wb_user_id, c.wb_run_id, c.wb_run_step, "
    "c.wb_run_step_end"
)
VISIBLE = "c.deleted_at IS NULL AND c.started_at IS NOT NULL"


def _feedback_field(name: str) -> Operand:
    """`feedback.[wandb.runnable.my_scorer].payload.output.score`: the newest feedback of
    that type on the call (what `get_calls(scored_by=...)` filters on)."""
    rest = name[len("feedback.[") :]
    feedback_type, sep, field = rest.partition("].")
    if not sep or not field:
        raise QueryError(f"bad feedback field {name!r}; expected feedback.[TYPE].FIELD")
    where = (
        "f.project_id = c.project_id AND f.weave_ref = 'weave:///' || c.project_id || "
        f"'/call/' || c.id AND f.feedback_type = {sql_str(feedback_type)}"
    )
    head, _, path = field.partition(".")
    if head == "payload":
        doc = f"(SELECT f.payload FROM feedback f WHERE {where} ORDER BY f.created_at DESC LIMIT 1)"
        return Operand("json", doc=doc, path=json_path([p for p in path.split(".") if p]))
    if field in _FEEDBACK_COLUMNS:
        sql = f"(SELECT f.{field} FROM feedback f WHERE {where} ORDER BY f.created_at DESC LIMIT 1)"
        return Operand("text", sql)
    raise QueryError(f"unknown feedback field {field!r} in {name!r}")


def calls_field(name: str) -> Operand:
    """Resolve a `$getField` / `sort_by` name on calls to SQL (table alias `c`)."""
    if name in _DERIVED:
        return _DERIVED[name]
    if name in _TEXT_COLUMNS:
        return Operand("text", f"c.{name}")
    head, _, rest = name.partition(".")
    if head in _JSON_COLUMNS:
        return json_field(f"c.{head}", rest)
    if name.startswith("feedback.["):
        return _feedback_field(name)
    raise QueryError(
        f"the local trace store cannot query calls by {name!r}; use a column "
        f"({', '.join(_TEXT_COLUMNS)}, started_at, ended_at, display_name), a derived field "
        "(summary.weave.status/latency_ms/trace_name) or a path under "
        "inputs/output/attributes/summary"
    )


def filter_sql(project_id: str, flt: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """The `filter` dict of a calls query -> WHERE conditions (always scoped to a project)."""
    conds = ["c.project_id = ?", VISIBLE]
    params: list[Any] = [project_id]
    flt = flt or {}
    for key, column in (
        ("call_ids", "id"),
        ("trace_ids", "trace_id"),
        ("parent_ids", "parent_id"),
        ("thread_ids", "thread_id"),
        ("turn_ids", "turn_id"),
        ("wb_run_ids", "wb_run_id"),
        ("wb_user_ids", "wb_user_id"),
    ):
        values = flt.get(key)
        if values is not None:
            values = list(values)
            conds.append(f"c.{column} IN ({marks(values)})" if values else "0")
            params.extend(values)
    if flt.get("trace_roots_only"):
        conds.append("c.parent_id IS NULL")
    op_names = flt.get("op_names")
    if op_names is not None:
        alts = []
        for name in op_names:
            if name.endswith(":*"):  # any version of an op
                alts.append("c.op_base = ?")
                params.append(name[:-2])
            elif name.startswith("weave:///"):
                alts.append("c.op_name = ?")
                params.append(name)
            else:  # a bare op name, any version
                alts.append("c.op_short = ?")
                params.append(name)
        conds.append("(" + (" OR ".join(alts) or "0") + ")")
    for key, column in (("input_refs", "input_refs"), ("output_refs", "output_refs")):
        refs = flt.get(key)
        if refs is not None:
            refs = list(refs)
            conds.append(
                f"EXISTS (SELECT 1 FROM json_each(c.{column}) WHERE value IN ({marks(refs)}))"
                if refs
                else "0"
            )
            params.extend(refs)
    return " AND ".join(conds), params


def row_to_fields(row: Sequence[Any]) -> dict[str, Any]:
    """A SELECT_COLUMNS row -> the field dict of a protocol `Call`, derived summary included."""
    (
        call_id,
        project_id,
        trace_id,
        parent_id,
        thread_id,
        turn_id,
        op_name,
        op_short,
        display_name,
        started_at,
        ended_at,
        attributes,
        inputs,
        output,
        summary_text,
        exception,
        wb_user_id,
        wb_run_id,
        wb_run_step,
        wb_run_step_end,
    ) = row
    summary = loads(summary_text, {}) or {}
    weave_fields = dict(summary.get("weave") or {})
    weave_fields["status"] = call_status(exception, ended_at, summary)
    weave_fields["trace_name"] = display_name or op_short
    if ended_at is not None and started_at is not None:
        weave_fields["latency_ms"] = (ended_at - started_at) // 1000
    summary["weave"] = weave_fields
    return {
        "id": call_id,
        "project_id": project_id,
        "trace_id": trace_id,
        "parent_id": parent_id,
        "thread_id": thread_id,
        "turn_id": turn_id,
        "op_name": op_name,
        "display_name": display_name,
        "started_at": from_us(started_at),
        "ended_at": from_us(ended_at),
        "attributes": loads(attributes, {}),
        "inputs": loads(inputs, {}),
        "output": loads(output),
        "summary": summary,
        "exception": exception,
        "wb_user_id": wb_user_id,
        "wb_run_id": wb_run_id,
        "wb_run_step": wb_run_step,
        "wb_run_step_end": wb_run_step_end,
    }


class CallReader:
    """calls_query / calls_query_stream / calls_query_stats / call_read / calls_delete."""

    def __init__(
        self, db: Database, writer: CallWriter, feedback: FeedbackStore, costs: Costs
    ) -> None:
        self._db = db
        self._writer = writer
        self._feedback = feedback
        self._costs = costs

    def _where(self, req: Mapping[str, Any]) -> tuple[str, list[Any]]:
        where, params = filter_sql(req["project_id"], req.get("filter"))
        qsql, qparams = compile_query(req.get("query"), calls_field)
        if qsql != "1":
            where += f" AND {qsql}"
            params += qparams
        return where, params

    def query(self, req: Mapping[str, Any]) -> list[Call]:
        """Every call matching the request, one page if limit/offset are set."""
        self._writer.flush()
        where, params = self._where(req)
        order, oparams = compile_order(req.get("sort_by"), calls_field, "c.started_at, c.id")
        sql = (
            f"SELECT {SELECT_COLUMNS} FROM calls c WHERE {where} ORDER BY {order}"
            f"{compile_page(req.get('limit'), req.get('offset'))}"
        )
        with self._db.snapshot() as conn:
            rows = conn.execute(sql, params + oparams).fetchall()
            fields = [row_to_fields(r) for r in rows]
            if req.get("include_costs"):
                self._costs.price_calls(conn, fields)
            if req.get("include_feedback"):
                self._feedback.attach_to_calls(conn, fields)
        # Plain validation, not `model_construct`: the vendored models override construct
        # with a recursive re-parse that is ten times slower than pydantic's validator.
        return [Call(**f) for f in fields]

    def stream(self, req: Mapping[str, Any]) -> Iterator[Call]:
        yield from self.query(req)

    def count(self, req: Mapping[str, Any]) -> int:
        self._writer.flush()
        where, params = self._where(req)
        (n,) = self._db.query(f"SELECT COUNT(*) FROM calls c WHERE {where}", params)[0]
        limit = req.get("limit")
        return n if limit is None else min(n, int(limit))

    def read(self, project_id: str, call_id: str) -> Call | None:
        calls = self.query({"project_id": project_id, "filter": {"call_ids": [call_id]}})
        return calls[0] if calls else None

    def delete(self, project_id: str, call_ids: Sequence[str]) -> int:
        """Soft-delete calls and all their descendants (as the real server does)."""
        self._writer.flush()
        ids = list(call_ids)
        if not ids:
            return 0
        sql = f"""
            WITH RECURSIVE doomed(id) AS (
                SELECT id FROM calls WHERE project_id = ? AND id IN ({marks(ids)})
                UNION
                SELECT c.id FROM calls c JOIN doomed d ON c.parent_id = d.id
            )
            UPDATE calls SET deleted_at = ?
            WHERE id IN (SELECT id FROM doomed) AND deleted_at IS NULL
        """
        with self._db.write() as conn:
            return conn.execute(sql, [project_id, *ids, now_us()]).rowcount
