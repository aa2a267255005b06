"""Weave's mongo-style query language (`{"$expr": ...}`), sort and paging, compiled to SQL.

The client sends `query`, `sort_by`, `limit` and `offset` through to the server; the real
server turns them into ClickHouse SQL. Compiling them to SQLite SQL here (rather than
filtering decoded rows in Python) keeps a 10,000-call project fast: SQLite filters, sorts and
pages the JSON columns itself, and only the page the client asked for is decoded.

Semantics, chosen to match what the real server's users rely on:
- `$getField` names a column (`op_name`, `started_at`, ...), a derived field
  (`summary.weave.status`, `summary.weave.latency_ms`, `summary.weave.trace_name`) or a dotted
  path into a JSON column (`inputs.question`, `output.scores.0`, `attributes.env`). A
  resolver, one per table, maps names to SQL (`calls_field`, `feedback_field`, `cost_field`).
- Comparisons coerce the field to the literal's type: against a string, a field is compared
  as text and a missing value equals `""` (so `{"$not": [{"$eq": [f, ""]}]}` means "exists",
  as the client's own helpers assume); against a number, only numeric values match (use
  `$convert` to read numbers stored as strings); against a bool, JSON true/false.
- Times (`started_at`, `ended_at`, `created_at`, ...) compare with ISO strings, datetimes or
  epoch seconds.
- Every predicate is two-valued (a NULL comparison is false, so `$not` of it is true).

Operators: $and $or $not $eq $gt $gte $lt $lte $in $contains $literal $getField $convert
(to double/int/string/bool/exists). Anything else raises `QueryError` naming the operator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from utils.tracing.store.convert import to_us
from utils.tracing.store.db import marks

Kind = Literal["text", "number", "time", "json", "bool", "literal"]


class QueryError(ValueError):
    """A query the local store cannot evaluate (unknown operator or field)."""


def sql_str(value: str) -> str:
    """A SQL string literal (single quotes doubled); used for JSON paths we build ourselves."""
    return "'" + value.replace("'", "''") + "'"


def json_path(parts: Sequence[str]) -> str:
    """Dotted field parts -> a SQLite JSON path: `["a", "0", "b"]` -> `$."a"[0]."b"`."""
    path = "$"
    for part in parts:
        if part.isdigit():
            path += f"[{part}]"
        else:
            path += '."' + part.replace('"', '\\"') + '"'
    return path


@dataclass(frozen=True)
class Operand:
    """A compiled sub-expression: SQL text, its `?` parameters, and how to coerce it.

    `json` operands keep the document and path separately so they can be read as text, as a
    number or as a bool without re-parsing rules in Python.
    """

    kind: Kind
    sql: str = ""
    params: tuple[Any, ...] = ()
    doc: str = ""  # json: SQL for the JSON document
    path: str = ""  # json: the JSON path
    value: Any = None  # literal: the Python value

    def raw(self) -> tuple[str, tuple[Any, ...]]:
        """The natural SQL value (for sorting and field-to-field comparison)."""
        if self.kind == "json":
            return f"json_extract({self.doc}, {sql_str(self.path)})", self.params
        if self.kind == "literal":
            return "?", (_sql_value(self.value),)
        return self.sql, self.params

    def as_text(self) -> tuple[str, tuple[Any, ...]]:
        """Text, with a missing value as '' (the real server's JSON_VALUE behaviour)."""
        if self.kind == "json":
            t = f"json_type({self.doc}, {sql_str(self.path)})"
            x = f"json_extract({self.doc}, {sql_str(self.path)})"
            sql = (
                f"(CASE {t} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                f"ELSE COALESCE(CAST({x} AS TEXT), '') END)"
            )
            return sql, self.params * 2
        if self.kind == "literal":
            return "?", ("" if self.value is None else _text_of(self.value),)
        return f"COALESCE(CAST({self.sql} AS TEXT), '')", self.params

    def as_number(self) -> tuple[str, tuple[Any, ...]]:
        """A number, or NULL when the value is not numeric."""
        if self.kind == "json":
            t = f"json_type({self.doc}, {sql_str(self.path)})"
            x = f"json_extract({self.doc}, {sql_str(self.path)})"
            return f"(CASE WHEN {t} IN ('integer', 'real') THEN {x} END)", self.params * 2
        if self.kind == "literal":
            return "?", (_sql_value(self.value),)
        if self.kind == "text":
            return f"course_num({self.sql})", self.params
        return self.sql, self.params

    def as_bool(self) -> tuple[str, tuple[Any, ...]]:
        """1/0, or NULL when the value is not a boolean."""
        if self.kind == "json":
            t = f"json_type({self.doc}, {sql_str(self.path)})"
            return f"(CASE {t} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)", self.params
        if self.kind == "literal":
            return "?", (1 if self.value else 0,)
        return self.sql, self.params


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _sql_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return to_us(value)
    if isinstance(value, (list, dict)):
        raise QueryError("a $literal list or object can only be the second argument of $in")
    return value


Resolver = Callable[[str], Operand]

_COMPARE = {"$eq": "=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


@dataclass
class _Compiler:
    resolve: Resolver
    params: list[Any] = field(default_factory=list)

    def predicate(self, expr: Any) -> str:
        """Compile an expression that must be true/false; appends its parameters."""
        operand = self.operand(expr)
        sql, params = operand.as_bool() if operand.kind != "bool" else operand.raw()
        self.params.extend(params)
        return f"COALESCE({sql}, 0)"

    def operand(self, expr: Any) -> Operand:
        if not isinstance(expr, Mapping) or len(expr) != 1:
            raise QueryError(f"expected a one-key operator object, got {expr!r}")
        ((op, arg),) = expr.items()
        if op == "$literal":
            return Operand("literal", value=arg)
        if op == "$getField":
            if not isinstance(arg, str):
                raise QueryError(f"$getField takes a field name, got {arg!r}")
            return self.resolve(arg)
        if op == "$convert":
            return self._convert(arg)
        if op in ("$and", "$or"):
            return self._logical(op, arg)
        if op == "$not":
            inner = arg[0] if isinstance(arg, (list, tuple)) else arg
            sub = _Compiler(self.resolve)
            sql = sub.predicate(inner)
            return Operand("bool", f"(NOT {sql})", tuple(sub.params))
        if op in _COMPARE:
            left, right = arg
            return self._compare(op, self.operand(left), self.operand(right))
        if op == "$in":
            return self._in(arg)
        if op == "$contains":
            return self._contains(arg)
        raise QueryError(f"the local trace store does not support the query operator {op}")

    def _logical(self, op: str, args: Sequence[Any]) -> Operand:
        sub = _Compiler(self.resolve)
        parts = [sub.predicate(a) for a in args]
        if not parts:
            return Operand("bool", "1" if op == "$and" else "0")
        joiner = " AND " if op == "$and" else " OR "
        return Operand("bool", "(" + joiner.join(parts) + ")", tuple(sub.params))

    def _convert(self, arg: Mapping[str, Any]) -> Operand:
        inner = self.operand(arg["input"])
        to = arg.get("to")
        if to in ("double", "int"):
            if inner.kind == "json":
                x, p = inner.raw()
                sql = f"course_num({x})"
            elif inner.kind in ("number", "time"):
                sql, p = inner.raw()
            else:
                x, p = inner.raw()
                sql = f"course_num({x})"
            if to == "int":
                sql = f"CAST({sql} AS INTEGER)"
            return Operand("number", sql, p)
        if to == "string":
            sql, p = inner.as_text()
            return Operand("text", sql, p)
        if to == "bool":
            if inner.kind == "json":
                x, p = inner.raw()
                t = f"json_type({inner.doc}, {sql_str(inner.path)})"
                sql = (
                    f"(CASE {t} WHEN 'true' THEN 1 WHEN 'false' THEN 0 "
                    f"ELSE (course_num({x}) != 0) END)"
                )
                return Operand("bool", sql, p * 2 if p else p)
            x, p = inner.raw()
            return Operand("bool", f"(course_num({x}) != 0)", p)
        if to == "exists":
            x, p = inner.raw()
            return Operand("bool", f"({x} IS NOT NULL)", p)
        raise QueryError(f"$convert to {to!r} is not supported (double, int, string, bool, exists)")

    def _compare(self, op: str, left: Operand, right: Operand) -> Operand:
        sym = _COMPARE[op]
        if left.kind == "literal" and right.kind != "literal":
            left, right = right, left
            sym = {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(sym, sym)
        if right.kind == "literal":
            return _compare_literal(sym, left, right.value)
        (a, pa), (b, pb) = left.raw(), right.raw()
        return Operand("bool", f"({a} {sym} {b})", pa + pb)

    def _in(self, arg: Sequence[Any]) -> Operand:
        needle_expr, haystack = arg
        needle = self.operand(needle_expr)
        values: list[Operand] = [self.operand(h) for h in haystack]
        if not values:
            return Operand("bool", "0")
        literals = [v.value for v in values if v.kind == "literal"]
        if len(literals) == len(values) and needle.kind != "literal":
            if all(isinstance(v, str) for v in literals):
                sql, p = needle.as_text()
                return Operand("bool", f"({sql} IN ({marks(literals)}))", p + tuple(literals))
            if all(_is_number(v) for v in literals) and needle.kind != "time":
                sql, p = needle.as_number()
                return Operand("bool", f"({sql} IN ({marks(literals)}))", p + tuple(literals))
        parts = [self._compare("$eq", needle, v) for v in values]
        sql = "(" + " OR ".join(f"COALESCE({x.sql}, 0)" for x in parts) + ")"
        return Operand("bool", sql, tuple(p for x in parts for p in x.params))

    def _contains(self, arg: Mapping[str, Any]) -> Operand:
        hay, hp = self.operand(arg["input"]).as_text()
        needle, np_ = self.operand(arg["substr"]).as_text()
        if arg.get("case_insensitive"):
            hay, needle = f"lower({hay})", f"lower({needle})"
        return Operand("bool", f"(instr({hay}, {needle}) > 0)", hp + np_)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _time_literal(value: Any) -> int | None:
    """A literal compared with a time column, as epoch microseconds."""
    if isinstance(value, dt.datetime):
        return to_us(value)
    if isinstance(value, str):
        try:
            return to_us(value)
        except ValueError as err:
            raise QueryError(f"cannot compare a time with {value!r}") from err
    if _is_number(value):
        return int(value * 1_000_000)  # epoch seconds
    raise QueryError(f"cannot compare a time with {value!r}")


def _compare_literal(sym: str, field_: Operand, value: Any) -> Operand:
    if value is None:
        sql, p = field_.raw()
        return Operand("bool", f"({sql} IS NULL)" if sym == "=" else "0", p if sym == "=" else ())
    if field_.kind == "time":
        sql, p = field_.raw()
        return Operand("bool", f"({sql} {sym} ?)", (*p, _time_literal(value)))
    if isinstance(value, bool):
        sql, p = field_.as_bool()
        return Operand("bool", f"({sql} {sym} ?)", (*p, int(value)))
    if _is_number(value):
        sql, p = field_.as_number()
        return Operand("bool", f"({sql} {sym} ?)", (*p, value))
    if isinstance(value, (dt.datetime, str)):
        sql, p = field_.as_text()
        return Operand("bool", f"({sql} {sym} ?)", (*p, _text_of(value)))
    raise QueryError(f"cannot compare with a literal {type(value).__name__}: {value!r}")


def compile_query(query: Mapping[str, Any] | None, resolve: Resolver) -> tuple[str, list[Any]]:
    """`{"$expr": ...}` -> (SQL boolean expression, parameters). No query -> `1`."""
    if not query:
        return "1", []
    expr = query.get("$expr") if isinstance(query, Mapping) else None
    if expr is None:
        raise QueryError(f"a query must be {{'$expr': ...}}, got {query!r}")
    compiler = _Compiler(resolve)
    sql = compiler.predicate(expr)
    return sql, compiler.params


def compile_order(
    sort_by: Sequence[Mapping[str, Any]] | None,
    resolve: Resolver,
    default: str,
) -> tuple[str, list[Any]]:
    """`[{"field": ..., "direction": "asc"|"desc"}]` -> ORDER BY body; missing values last.

    `default` (a unique column, e.g. the id) is always appended so pages never overlap.
    """
    parts: list[str] = []
    params: list[Any] = []
    for item in sort_by or []:
        direction = str(item.get("direction", "asc")).lower()
        if direction not in ("asc", "desc"):
            raise QueryError(f"sort direction must be asc or desc, not {direction!r}")
        sql, p = resolve(str(item["field"])).raw()
        parts.append(f"({sql}) IS NULL, ({sql}) {direction.upper()}")
        params.extend(p)
        params.extend(p)
    parts.append(default)
    return ", ".join(parts), params


def compile_page(limit: int | None, offset: int | None) -> str:
    """LIMIT/OFFSET as SQL (values are ints we validate, not user text)."""
    if limit is None and not offset:
        return ""
    lim = -1 if limit is None else int(limit)
    off = int(offset or 0)
    if off < 0:
        raise QueryError("offset must be >= 0")
    return f" LIMIT {lim} OFFSET {off}"


# --------------------------------------------------------------------------- resolvers
def json_field(doc: str, dotted: str) -> Operand:
    """A dotted path under a JSON column; an empty path is the whole value."""
    parts = [p for p in dotted.split(".") if p] if dotted else []
    return Operand("json", doc=doc, path=json_path(parts))


def table_resolver(
    columns: Mapping[str, Kind], json_columns: Mapping[str, str], alias: str = ""
) -> Resolver:
    """A resolver for a table with plain columns plus JSON columns (feedback, costs)."""
    prefix = f"{alias}." if alias else ""

    def resolve(name: str) -> Operand:
        if name in columns:
            return Operand(columns[name], f"{prefix}{name}")
        head, _, rest = name.partition(".")
        if head in json_columns:
            return json_field(f"{prefix}{json_columns[head]}", rest)
        raise QueryError(f"unknown field {name!r}; known: {sorted(columns) + sorted(json_columns)}")

    return resolve
