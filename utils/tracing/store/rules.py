"""Fields derived from a call, defined once for the store and for the notebook views.

The real trace server derives `summary.weave.status`, the trace name and token totals on read;
the local store does the same, and `utils.tracing.view` falls back to the same rules when a
call lacks them. Each rule lives here, next to its SQL twin where the store also needs it in
SQL (to filter and sort without decoding every row); `tests/tracing/test_rules.py` checks
that the two forms agree.

This module imports nothing from weave, so the views can use it without loading the store.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

REF_PREFIX = "weave:///"

# ------------------------------------------------------------------ status
STATUSES = ("error", "running", "descendant_error", "success")


def _error_count(summary: Mapping[str, Any]) -> int:
    """Errors below this call, as the client rolls them up into `summary.status_counts`."""
    counts = summary.get("status_counts") or {}
    if not isinstance(counts, Mapping):
        return 0
    # Keys may be weave's TraceStatus enum members (str subclasses) or plain strings.
    return sum(int(v or 0) for k, v in counts.items() if str(getattr(k, "value", k)) == "error")


def call_status(exception: str | None, ended_at: object, summary: Mapping[str, Any] | None) -> str:
    """error (own exception), running (no end yet), descendant_error (a child failed), success."""
    if exception is not None:
        return "error"
    if ended_at is None:
        return "running"
    return "descendant_error" if _error_count(summary or {}) > 0 else "success"


def status_sql(alias: str = "c") -> str:
    """`call_status` over the calls table's columns, for WHERE and ORDER BY."""
    return (
        f"(CASE WHEN {alias}.exception IS NOT NULL THEN 'error' "
        f"WHEN {alias}.ended_at IS NULL THEN 'running' "
        f"WHEN COALESCE(json_extract({alias}.summary, '$.status_counts.error'), 0) > 0 "
        "THEN 'descendant_error' ELSE 'success' END)"
    )


# ------------------------------------------------------------------ op names
@functools.lru_cache(maxsize=4096)  # a handful of ops, called once per traced call
def op_short_name(op_name: str | None) -> str | None:
    """`weave:///e/p/op/my_op:digest` -> `my_op`: the UI's trace name; plain names unchanged."""
    if not op_name:
        return op_name
    if op_name.startswith(REF_PREFIX):
        tail = op_name.rsplit("/", 1)[-1]
        return tail.rsplit(":", 1)[0] if ":" in tail else tail
    return op_name


@functools.lru_cache(maxsize=4096)
def op_base(op_name: str | None) -> str | None:
    """An op ref without its version: the key that `op/name:*` wildcard filters match."""
    if not op_name:
        return op_name
    if op_name.startswith(REF_PREFIX) and ":" in op_name.rsplit("/", 1)[-1]:
        return op_name.rsplit(":", 1)[0]
    return op_name


# ------------------------------------------------------------------ tokens
def _count(usage: Mapping[str, Any], *names: str) -> int:
    """The first token count present under any of `names` (providers name them differently)."""
    for name in names:
        value = usage.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
    return 0


def usage_tokens(usage: Mapping[str, Any]) -> tuple[int, int, int]:
    """(prompt, completion, total) of one model's `summary.usage[model]` entry.

    OpenAI says prompt/completion, Anthropic and LangChain say input/output; a missing total
    is the sum of the two.
    """
    prompt = _count(usage, "prompt_tokens", "input_tokens")
    completion = _count(usage, "completion_tokens", "output_tokens")
    total = usage.get("total_tokens")
    if not isinstance(total, (int, float)) or isinstance(total, bool):
        total = prompt + completion
    return prompt, completion, int(total)


def summed_tokens(usage: Mapping[str, Any] | None) -> tuple[int, int, int] | None:
    """`usage_tokens` summed over every model of a call's `summary.usage`; None without usage."""
    if not usage:
        return None
    totals = [usage_tokens(u) for u in usage.values() if isinstance(u, Mapping)]
    return (
        sum(t[0] for t in totals),
        sum(t[1] for t in totals),
        sum(t[2] for t in totals),
    )
