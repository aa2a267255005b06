"""The `$expr` compiler's semantics, checked on a small SQLite table (no weave client needed).

The end-to-end behaviour through `client.get_calls(query=...)` is covered in
test_tracing_calls.py; these pin down the coercion rules the docstring of
`utils/tracing/store/query.py` promises.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

import pytest

from utils.tracing.store.convert import to_us
from utils.tracing.store.db import Database
from utils.tracing.store.query import (
    QueryError,
    compile_order,
    compile_page,
    compile_query,
    json_path,
    table_resolver,
)

ROWS: list[dict[str, Any]] = [
    {
        "id": "a",
        "name": "alpha",
        "at": "2024-01-01T00:00:00+00:00",
        "doc": {"n": 1, "s": "x", "ok": True, "tags": ["red"], "num_text": "7"},
    },
    {
        "id": "b",
        "name": "Beta",
        "at": "2024-06-01T00:00:00+00:00",
        "doc": {"n": 2.5, "s": "y", "ok": False, "nested": {"deep": "z"}},
    },
    {
        "id": "c",
        "name": "gamma",
        "at": "2025-01-01T00:00:00+00:00",
        "doc": {"n": None, "s": "", "list": [10, 20]},
    },
]
resolve = table_resolver({"id": "text", "name": "text", "at": "time"}, {"doc": "doc"}, alias="t")


@pytest.fixture
def conn(tmp_path: Any) -> sqlite3.Connection:
    db = Database(tmp_path / "q.sqlite")  # registers course_num like the store does
    db.conn.execute("CREATE TABLE t (id TEXT, name TEXT, at INTEGER, doc TEXT)")
    db.conn.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?)",
        [(r["id"], r["name"], to_us(r["at"]), json.dumps(r["doc"])) for r in ROWS],
    )
    return db.conn


def run(conn: sqlite3.Connection, expr: dict) -> list[str]:
    sql, params = compile_query({"$expr": expr}, resolve)
    return [r[0] for r in conn.execute(f"SELECT id FROM t WHERE {sql} ORDER BY id", params)]


def f(name: str) -> dict:
    return {"$getField": name}


def lit(value: Any) -> dict:
    return {"$literal": value}


def test_json_path_quotes_keys_and_indexes_lists() -> None:
    assert json_path(["a", "0", 'b"c']) == '$."a"[0]."b\\"c"'


def test_numbers_only_match_numbers(conn: sqlite3.Connection) -> None:
    assert run(conn, {"$gt": [f("doc.n"), lit(1)]}) == ["b"]
    assert run(conn, {"$lte": [f("doc.n"), lit(2.5)]}) == ["a", "b"]
    assert run(conn, {"$eq": [f("doc.num_text"), lit(7)]}) == []  # a string is not a number
    as_number = {"$convert": {"input": f("doc.num_text"), "to": "double"}}
    assert run(conn, {"$eq": [as_number, lit(7)]}) == ["a"]
    assert run(conn, {"$gt": [lit(2), f("doc.n")]}) == ["a"]  # literal on the left


def test_strings_missing_is_empty_and_exists(conn: sqlite3.Connection) -> None:
    assert run(conn, {"$eq": [f("doc.s"), lit("x")]}) == ["a"]
    assert run(conn, {"$eq": [f("doc.nested.deep"), lit("z")]}) == ["b"]
    assert run(conn, {"$eq": [f("doc.s"), lit("")]}) == ["c"]
    assert run(conn, {"$eq": [f("doc.missing"), lit("")]}) == ["a", "b", "c"]
    exists = {"$not": [{"$eq": [f("doc.nested"), lit("")]}]}
    assert run(conn, exists) == ["b"]
    assert run(conn, {"$eq": [f("doc.n"), lit("1")]}) == ["a"]  # numbers compare as text too


def test_bools_nulls_and_lists(conn: sqlite3.Connection) -> None:
    assert run(conn, {"$eq": [f("doc.ok"), lit(True)]}) == ["a"]
    assert run(conn, {"$eq": [f("doc.ok"), lit(False)]}) == ["b"]
    assert run(conn, {"$eq": [f("doc.ok"), lit("true")]}) == ["a"]
    assert run(conn, {"$eq": [f("doc.n"), lit(None)]}) == ["c"]
    assert run(conn, {"$eq": [f("doc.list.1"), lit(20)]}) == ["c"]
    assert run(conn, {"$contains": {"input": f("doc.tags"), "substr": lit("red")}}) == ["a"]


def test_logic_is_two_valued(conn: sqlite3.Connection) -> None:
    gt = {"$gt": [f("doc.n"), lit(1)]}
    assert run(conn, {"$not": [gt]}) == ["a", "c"]  # NULL > 1 is false, so NOT is true
    assert run(conn, {"$and": [gt, {"$eq": [f("name"), lit("Beta")]}]}) == ["b"]
    assert run(conn, {"$or": [gt, {"$eq": [f("id"), lit("a")]}]}) == ["a", "b"]
    assert run(conn, {"$and": []}) == ["a", "b", "c"]
    assert run(conn, {"$or": []}) == []


def test_in_and_contains(conn: sqlite3.Connection) -> None:
    assert run(conn, {"$in": [f("name"), [lit("alpha"), lit("gamma")]]}) == ["a", "c"]
    assert run(conn, {"$in": [f("doc.n"), [lit(1), lit(2.5)]]}) == ["a", "b"]
    assert run(conn, {"$in": [f("doc.n"), [lit(1), lit("y")]]}) == ["a"]  # mixed: OR of $eq
    assert run(conn, {"$in": [f("name"), []]}) == []
    beta = {"input": f("name"), "substr": lit("BET")}
    assert run(conn, {"$contains": beta}) == []
    assert run(conn, {"$contains": {**beta, "case_insensitive": True}}) == ["b"]


def test_times_accept_iso_datetime_and_epoch_seconds(conn: sqlite3.Connection) -> None:
    assert run(conn, {"$gt": [f("at"), lit("2024-03-01T00:00:00+00:00")]}) == ["b", "c"]
    cutoff = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)
    assert run(conn, {"$lt": [f("at"), lit(cutoff)]}) == ["a", "b"]
    assert run(conn, {"$gte": [f("at"), lit(cutoff.timestamp())]}) == ["c"]


def test_convert_variants(conn: sqlite3.Connection) -> None:
    def convert(field: str, to: str) -> dict:
        return {"$convert": {"input": f(field), "to": to}}

    assert run(conn, {"$eq": [convert("doc.n", "int"), lit(2)]}) == ["b"]
    assert run(conn, {"$eq": [convert("doc.n", "string"), lit("2.5")]}) == ["b"]
    assert run(conn, {"$eq": [convert("doc.ok", "bool"), lit(True)]}) == ["a"]
    assert run(conn, convert("doc.nested", "exists")) == ["b"]
    with pytest.raises(QueryError, match="date"):
        run(conn, {"$eq": [convert("doc.n", "date"), lit(1)]})


def test_errors_name_the_problem(conn: sqlite3.Connection) -> None:
    with pytest.raises(QueryError, match=r"\$regex"):
        run(conn, {"$regex": [f("name"), lit("a")]})
    with pytest.raises(QueryError, match="unknown field"):
        run(conn, {"$eq": [f("nope"), lit(1)]})
    with pytest.raises(QueryError, match=r"\$expr"):
        compile_query({"expr": {}}, resolve)


def test_order_and_page(conn: sqlite3.Connection) -> None:
    order, params = compile_order([{"field": "doc.n", "direction": "desc"}], resolve, "t.id")
    sql = f"SELECT id FROM t ORDER BY {order}{compile_page(2, 0)}"
    assert [r[0] for r in conn.execute(sql, params)] == ["b", "a"]  # missing values last
    order, params = compile_order([{"field": "doc.n", "direction": "asc"}], resolve, "t.id")
    sql = f"SELECT id FROM t ORDER BY {order}{compile_page(None, 1)}"
    assert [r[0] for r in conn.execute(sql, params)] == ["b", "c"]
    with pytest.raises(QueryError):
        compile_order([{"field": "id", "direction": "up"}], resolve, "t.id")
