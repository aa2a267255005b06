"""The derived call fields are one rule each: the Python form and the SQL form agree."""

from __future__ import annotations

import itertools
import json
import sqlite3
from typing import Any

import pytest

from utils.tracing.store import rules


@pytest.mark.parametrize(
    ("exception", "ended_at", "summary"),
    list(
        itertools.product(
            [None, "ValueError: x"],
            [None, 1_000],
            [{}, {"status_counts": {"error": 0}}, {"status_counts": {"error": 2, "success": 1}}],
        )
    ),
)
def test_status_in_python_and_sql_agree(
    exception: str | None, ended_at: int | None, summary: dict[str, Any]
) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE calls (exception TEXT, ended_at INTEGER, summary TEXT)")
    db.execute("INSERT INTO calls VALUES (?, ?, ?)", (exception, ended_at, json.dumps(summary)))
    (in_sql,) = db.execute(f"SELECT {rules.status_sql('c')} FROM calls c").fetchone()
    assert in_sql == rules.call_status(exception, ended_at, summary)
    assert in_sql in rules.STATUSES


def test_status_counts_keyed_by_enum_members() -> None:
    from weave.trace.weave_client import TraceStatus

    summary = {"status_counts": {TraceStatus.ERROR: 1, TraceStatus.SUCCESS: 3}}
    assert rules.call_status(None, 5, summary) == "descendant_error"


@pytest.mark.parametrize(
    ("op_name", "short", "base"),
    [
        ("weave:///e/p/op/answer:abc123", "answer", "weave:///e/p/op/answer"),
        ("weave:///e/p/op/answer", "answer", "weave:///e/p/op/answer"),
        ("openai.chat.completions.create", "openai.chat.completions.create", None),
        (None, None, None),
    ],
)
def test_op_names(op_name: str | None, short: str | None, base: str | None) -> None:
    assert rules.op_short_name(op_name) == short
    assert rules.op_base(op_name) == (base or op_name)


def test_token_counts_across_provider_spellings() -> None:
    assert rules.usage_tokens({"prompt_tokens": 3, "completion_tokens": 4}) == (3, 4, 7)
    assert rules.usage_tokens({"input_tokens": 3, "output_tokens": 4, "total_tokens": 9}) == (
        3,
        4,
        9,
    )
    assert rules.summed_tokens(
        {"a": {"prompt_tokens": 1, "completion_tokens": 2}, "b": {"input_tokens": 10}}
    ) == (11, 2, 13)
    assert rules.summed_tokens({}) is None
