"""Seeing traces inside the notebook: a calls table (pandas) and a trace tree (HTML).

In local mode there is no Weave UI to click through, so these two views carry what a learner
would look at there: per call its op, status, latency, tokens and cost, and for one trace the
parent/child tree. Both read through the normal client API (`client.get_calls`), so they
work the same online, where they complement the UI link.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from utils.tracing.store import rules

if TYPE_CHECKING:
    import pandas as pd
    from weave.trace.weave_client import WeaveClient

FRAME_COLUMNS = [
    "op",
    "display_name",
    "status",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "tokens",
    "cost",
    "started_at",
    "exception",
    "id",
    "trace_id",
    "parent_id",
    "inputs",
    "output",
]
STATUS_COLOURS = {
    "success": "#1a7f37",
    "error": "#cf222e",
    "descendant_error": "#bc4c00",
    "running": "#0969da",
}
PREVIEW_CHARS = 160
INDENT = "\u00a0" * 4  # non-breaking: an HTML table would collapse plain spaces


def _client(client: WeaveClient | None) -> WeaveClient:
    if client is not None:
        return client
    from weave.trace.context.weave_client_context import require_weave_client

    return require_weave_client()


def _get(call: Any, name: str, default: Any = None) -> Any:
    if isinstance(call, Mapping):
        return call.get(name, default)
    return getattr(call, name, default)


def op_label(op_name: str | None) -> str:
    """`weave:///e/p/op/name:digest` -> `name` (and plain names unchanged)."""
    return rules.op_short_name(op_name) or ""


def status_of(call: Any) -> str:
    """The server's `summary.weave.status` when present, else derived by the same rule."""
    summary = _get(call, "summary") or {}
    status = (summary.get("weave") or {}).get("status")
    if status:
        return str(getattr(status, "value", status))
    return rules.call_status(_get(call, "exception"), _get(call, "ended_at"), summary)


def latency_ms(call: Any) -> float | None:
    started, ended = _get(call, "started_at"), _get(call, "ended_at")
    if isinstance(started, dt.datetime) and isinstance(ended, dt.datetime):
        return (ended - started).total_seconds() * 1000
    return None


def token_counts(call: Any) -> tuple[int | None, int | None, int | None]:
    """(prompt, completion, total) summed over every model in `summary.usage`."""
    counts = rules.summed_tokens((_get(call, "summary") or {}).get("usage"))
    return counts if counts is not None else (None, None, None)


def cost_of(call: Any) -> float | None:
    """Total cost from `summary.weave.costs` (present when fetched with include_costs=True)."""
    costs = ((_get(call, "summary") or {}).get("weave") or {}).get("costs") or {}
    if not costs:
        return None
    return sum(
        float(c.get("prompt_tokens_total_cost") or 0)
        + float(c.get("completion_tokens_total_cost") or 0)
        for c in costs.values()
        if isinstance(c, Mapping)
    )


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    try:  # the client sends exceptions as JSON: {"type": ..., "message": ...}
        parsed = json.loads(text)
        if isinstance(parsed, dict) and "type" in parsed:
            return f"{parsed['type']}: {parsed.get('message', '')}".strip()
    except (TypeError, ValueError):
        pass
    return text.strip().splitlines()[0] if text.strip() else None


def _brief(value: Any, budget: int, depth: int = 0) -> str:
    """A JSON-like preview that stops once `budget` characters are produced.

    Inputs and outputs can be huge (an embedding call carries hundreds of vectors); converting
    them whole just to show 120 characters made a calls table take a minute, so this walks
    only as far as the preview reaches.
    """
    if budget <= 0:
        return "…"
    if isinstance(value, str | int | float | bool) or value is None:
        return json.dumps(value, ensure_ascii=False, default=str)[: budget + 1]
    if isinstance(value, Mapping):
        parts, used = [], 2
        for key, item in value.items():
            if used >= budget:
                parts.append("…")
                break
            part = f"{json.dumps(str(key))}: {_brief(item, budget - used, depth + 1)}"
            parts.append(part)
            used += len(part) + 2
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list | tuple) or (
        hasattr(value, "__iter__") and hasattr(value, "__len__")
    ):
        parts, used = [], 2
        for item in value:
            if used >= budget:
                parts.append("…")
                break
            part = _brief(item, budget - used, depth + 1)
            parts.append(part)
            used += len(part) + 2
        return "[" + ", ".join(parts) + "]"
    return str(value)[: budget + 1]


def _preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    if isinstance(value, Mapping) and "self" in value:
        # A method op's first input is its object (a whole weave.Model): the trace tree
        # would show `self: WeaveObject(...)` where the question and the prompt belong.
        value = {k: v for k, v in value.items() if k != "self"}
    text = _brief(value, limit)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_row(call: Any) -> dict[str, Any]:
    """One call as a flat dict with the FRAME_COLUMNS keys."""
    prompt, completion, total = token_counts(call)
    return {
        "op": op_label(_get(call, "op_name")),
        "display_name": _get(call, "display_name"),
        "status": status_of(call),
        "latency_ms": latency_ms(call),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens": total,
        "cost": cost_of(call),
        "started_at": _get(call, "started_at"),
        "exception": _first_line(_get(call, "exception")),
        "id": _get(call, "id"),
        "trace_id": _get(call, "trace_id"),
        "parent_id": _get(call, "parent_id"),
        "inputs": _preview(_get(call, "inputs")),
        "output": _preview(_get(call, "output")),
    }


def this_session(client: WeaveClient | None = None) -> dict[str, Any] | None:
    """A `get_calls(query=...)` expression for the calls of this client's session.

    A project keeps every call ever made to it (the local store too), so "my calls" needs a
    scope: the course starts each client with `attributes={"session": ...}`, and this is the
    query on that attribute. None when the client has no session attribute.
    """
    session = (_client(client).attributes or {}).get("session")
    if session is None:
        return None
    return {"$expr": {"$eq": [{"$getField": "attributes.session"}, {"$literal": str(session)}]}}


def calls_frame(
    calls: Iterable[Any] | WeaveClient | None = None,
    *,
    include_costs: bool = True,
    last: int | None = None,
    roots: bool | None = None,
    **get_calls_kwargs: Any,
) -> pd.DataFrame:
    """Calls as a DataFrame, one row each, columns FRAME_COLUMNS, oldest first.

    `calls` may be calls you already have (e.g. `client.get_calls(...)`), a client, or None
    for the global client; with a client, keyword arguments go to `get_calls`:
    `calls_frame(client, filter={"trace_roots_only": True}, limit=20)`. `last=n` keeps the n
    most recent *traces* (their root calls): right after running something, the root is the
    call you made, not the innermost LLM call it happened to end with. `roots=False` lists
    every call instead; see `trace_frame` for all the calls of one trace.
    """
    import pandas as pd

    if calls is None or hasattr(calls, "get_calls"):
        client = _client(calls)  # type: ignore[arg-type]
        client.flush()  # calls just made may still be queued in the client's workers
        only_roots = last is not None if roots is None else roots
        if only_roots:
            flt = dict(get_calls_kwargs.get("filter") or {})
            flt["trace_roots_only"] = True
            get_calls_kwargs["filter"] = flt
        if last is not None:
            get_calls_kwargs.setdefault("sort_by", [{"field": "started_at", "direction": "desc"}])
            get_calls_kwargs["limit"] = last
        calls = client.get_calls(include_costs=include_costs, **get_calls_kwargs)
    rows = [call_row(c) for c in calls]  # type: ignore[union-attr]
    if last is not None:
        rows = sorted(rows, key=lambda r: str(r["started_at"]))[-last:]
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    if not frame.empty:
        frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
        for column in ("prompt_tokens", "completion_tokens", "tokens"):
            frame[column] = frame[column].astype("Int64")  # integers with gaps, not floats
    return frame


# ----------------------------------------------------------------------------- trace tree
def _trace_calls(target: Any, client: WeaveClient) -> tuple[str, list[Any]]:
    """Resolve a call object, call id, trace id or None (the latest trace) to
    (trace_id, all calls of the trace)."""
    client.flush()
    if target is None:
        latest = list(
            client.get_calls(
                filter={"trace_roots_only": True},
                sort_by=[{"field": "started_at", "direction": "desc"}],
                limit=1,
            )
        )
        if not latest:
            raise LookupError("no traces in this project yet")
        target = latest[0]
    trace_id = _get(target, "trace_id") if not isinstance(target, str) else None
    if trace_id is None and isinstance(target, str):
        calls = list(client.get_calls(filter={"trace_ids": [target]}, include_costs=True))
        if calls:
            return target, calls
        trace_id = client.get_call(target).trace_id
    calls = list(client.get_calls(filter={"trace_ids": [trace_id]}, include_costs=True))
    return str(trace_id), calls


def _tree_order(calls: list[Any]) -> list[tuple[int, Any]]:
    """(depth, call) pairs, parents before children, siblings by start time."""
    ids = {_get(c, "id") for c in calls}
    children: dict[str | None, list[Any]] = {}
    for c in sorted(calls, key=lambda c: str(_get(c, "started_at") or "")):
        parent = _get(c, "parent_id")
        children.setdefault(parent if parent in ids else None, []).append(c)
    ordered: list[tuple[int, Any]] = []

    def walk(call: Any, depth: int) -> None:
        ordered.append((depth, call))
        for child in children.get(_get(call, "id"), []):
            walk(child, depth + 1)

    for root in children.get(None, []):
        walk(root, 0)
    return ordered


def trace_frame(target: Any = None, client: WeaveClient | None = None) -> pd.DataFrame:
    """Every call of one trace, in tree order, with its `depth` below the root.

    `target` is a call, a call id, a trace id, or None for the latest trace. What the Weave
    UI's trace view lists, as a DataFrame: the root, then each step and its sub-steps.
    """
    import pandas as pd

    client = _client(client)
    _, calls = _trace_calls(target, client)
    ordered = _tree_order(calls)
    frame = calls_frame([c for _, c in ordered])
    frame = frame.set_index(pd.RangeIndex(len(frame)))
    frame.insert(0, "depth", [d for d, _ in ordered])
    frame["step"] = [
        INDENT * depth + (_get(call, "display_name") or op_label(_get(call, "op_name")))
        for depth, call in ordered
    ]
    return frame


def _badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#57606a")
    return (
        f'<span style="color:#fff;background:{colour};border-radius:3px;'
        f'padding:0 4px;font-size:11px">{html.escape(status)}</span>'
    )


def _fmt(value: float | int | None, spec: str, unit: str = "") -> str:
    return "" if value is None else f"{value:{spec}}{unit}"


def _node_html(call: Any, children: dict[str | None, list[Any]], depth: int) -> list[str]:
    row = call_row(call)
    name = html.escape(row["display_name"] or row["op"])
    indent = depth * 18
    exc = row["exception"]
    details = (
        f"<details><summary>{name}</summary>"
        f"<div><b>inputs</b> <code>{html.escape(row['inputs'])}</code></div>"
        f"<div><b>output</b> <code>{html.escape(row['output'])}</code></div>"
        + (f'<div style="color:#cf222e"><b>error</b> {html.escape(exc)}</div>' if exc else "")
        + "</details>"
    )
    cells = [
        f'<td style="padding-left:{indent + 4}px;text-align:left">{details}</td>',
        f"<td>{_badge(row['status'])}</td>",
        f"<td style='text-align:right'>{_fmt(row['latency_ms'], ',.1f', ' ms')}</td>",
        f"<td style='text-align:right'>{_fmt(row['tokens'], ',d')}</td>",
        f"<td style='text-align:right'>{_fmt(row['cost'], '.6f', ' $')}</td>",
    ]
    out = ["<tr>" + "".join(cells) + "</tr>"]
    for child in children.get(_get(call, "id"), []):
        out.extend(_node_html(child, children, depth + 1))
    return out


def trace_html(target: Any, client: WeaveClient | None = None) -> str:
    """One trace as an HTML table-tree: op, status, latency, tokens and cost per call.

    `target` is a call (e.g. from `op.call(...)` or `client.get_calls()`), a call id or a
    trace id.
    """
    client = _client(client)
    trace_id, calls = _trace_calls(target, client)
    ids = {_get(c, "id") for c in calls}
    children: dict[str | None, list[Any]] = {}
    for c in sorted(calls, key=lambda c: _get(c, "started_at") or dt.datetime.min):
        parent = _get(c, "parent_id")
        children.setdefault(parent if parent in ids else None, []).append(c)
    body: list[str] = []
    for root in children.get(None, []):
        body.extend(_node_html(root, children, 0))
    header = "".join(
        f"<th style='text-align:{a}'>{h}</th>"
        for h, a in (
            ("call", "left"),
            ("status", "left"),
            ("latency", "right"),
            ("tokens", "right"),
            ("cost", "right"),
        )
    )
    return (
        f'<div class="course-trace"><div style="font-size:12px;color:#57606a">trace '
        f"{html.escape(trace_id)} · {len(calls)} calls</div>"
        f'<table style="border-collapse:collapse;font-size:13px"><thead><tr>{header}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def show_trace(target: Any, client: WeaveClient | None = None) -> Any:
    """Display `trace_html(target)` in the notebook (returns the HTML object, or the string
    outside IPython so scripts and tests can use it too)."""
    markup = trace_html(target, client)
    try:
        from IPython.display import HTML
    except ImportError:
        return markup
    return HTML(markup)
