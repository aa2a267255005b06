"""Per-model token prices (`client.add_cost`) and the costs shown on calls.

The client records token usage per model in `summary.usage[model]`; prices are looked up on
read, so adding a price later re-prices old calls (as on the real server, no trace is
rewritten). The real server also ships a default price list for hosted models; the local
store has only the prices the project adds, which is what the course's local models need.

Which price applies: the newest one whose `effective_date` is on or before the call's start.
A call older than every price of its model uses the oldest price instead of none, so the
natural notebook order (trace first, `add_cost` after, then `include_costs=True`) shows costs.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping
from typing import Any

from weave.vendor.weave_server_sdk.types import CostCreateResponse, CostQueryResponse
from weave.vendor.weave_server_sdk.types.cost_query_response import Result

from utils.tracing.store.convert import from_us, now_us, to_us
from utils.tracing.store.db import Database, marks
from utils.tracing.store.query import (
    Kind,
    compile_order,
    compile_page,
    compile_query,
    table_resolver,
)
from utils.tracing.store.rules import usage_tokens

_FIELDS: dict[str, Kind] = {
    "id": "text",
    "llm_id": "text",
    "provider_id": "text",
    "prompt_token_cost": "number",
    "completion_token_cost": "number",
    "cache_read_input_token_cost": "number",
    "cache_creation_input_token_cost": "number",
    "prompt_token_cost_unit": "text",
    "completion_token_cost_unit": "text",
    "effective_date": "time",
}
COLUMNS = tuple(_FIELDS)
_INSERT_COLUMNS = (*COLUMNS[:1], "project_id", *COLUMNS[1:], "created_at")
cost_field = table_resolver(_FIELDS, {}, alias="k")


def price_usage(usage: Mapping[str, Any], price: Mapping[str, Any], project_id: str) -> dict:
    """One model's usage priced like the real server's `summary.weave.costs[model]` entry."""
    prompt, completion, total = usage_tokens(usage)
    return {
        **usage,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "requests": usage.get("requests", 0),
        "total_tokens": total,
        "prompt_token_cost": price["prompt_token_cost"],
        "completion_token_cost": price["completion_token_cost"],
        "prompt_tokens_total_cost": prompt * price["prompt_token_cost"],
        "completion_tokens_total_cost": completion * price["completion_token_cost"],
        "prompt_token_cost_unit": price["prompt_token_cost_unit"],
        "completion_token_cost_unit": price["completion_token_cost_unit"],
        "effective_date": from_us(price["effective_date"]).isoformat(),  # type: ignore[union-attr]
        "provider_id": price["provider_id"],
        "pricing_level": "project",
        "pricing_level_id": project_id,
    }


def pick_price(prices: list[dict[str, Any]], started_at_us: int | None) -> dict[str, Any] | None:
    """Newest price effective at the call's start; the oldest one for calls before all prices.

    `prices` is sorted by effective_date ascending.
    """
    if not prices:
        return None
    if started_at_us is None:
        return prices[-1]
    chosen = prices[0]
    for price in prices:
        if price["effective_date"] <= started_at_us:
            chosen = price
    return chosen


class Costs:
    """cost_create / cost_query / cost_purge, and `include_costs` pricing of calls."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, req: Mapping[str, Any]) -> CostCreateResponse:
        ids: list[list[object]] = []
        created = now_us()
        with self._db.write() as conn:
            for llm_id, cost in req["costs"].items():
                cost_id = str(uuid.uuid4())
                conn.execute(
                    f"INSERT INTO costs ({', '.join(_INSERT_COLUMNS)}) "
                    f"VALUES ({marks(_INSERT_COLUMNS)})",
                    (
                        cost_id,
                        req["project_id"],
                        llm_id,
                        cost.get("provider_id") or "default",
                        float(cost["prompt_token_cost"]),
                        float(cost["completion_token_cost"]),
                        float(cost.get("cache_read_input_token_cost") or 0),
                        float(cost.get("cache_creation_input_token_cost") or 0),
                        cost.get("prompt_token_cost_unit") or "USD",
                        cost.get("completion_token_cost_unit") or "USD",
                        to_us(cost.get("effective_date")) or created,
                        created,
                    ),
                )
                ids.append([cost_id, llm_id])
        return CostCreateResponse(ids=ids)

    def query(self, req: Mapping[str, Any]) -> CostQueryResponse:
        where, params = compile_query(req.get("query"), cost_field)
        order, oparams = compile_order(req.get("sort_by"), cost_field, "k.effective_date, k.id")
        rows = self._db.query(
            f"SELECT {', '.join('k.' + c for c in COLUMNS)} FROM costs k "
            f"WHERE k.project_id = ? AND {where} ORDER BY {order}"
            f"{compile_page(req.get('limit'), req.get('offset'))}",
            [req["project_id"], *params, *oparams],
        )
        results = []
        for row in rows:
            values = dict(zip(COLUMNS, row, strict=True))
            values["effective_date"] = from_us(values["effective_date"])
            results.append(Result(**values))
        return CostQueryResponse(results=results)

    def purge(self, req: Mapping[str, Any]) -> None:
        where, params = compile_query(req.get("query"), cost_field)
        with self._db.write() as conn:
            conn.execute(
                f"DELETE FROM costs AS k WHERE k.project_id = ? AND {where}",
                [req["project_id"], *params],
            )

    def price_calls(self, conn: sqlite3.Connection, calls: list[dict[str, Any]]) -> None:
        """Set `summary.weave.costs` on call dicts that have usage for a priced model."""
        models = {
            (c["project_id"], model)
            for c in calls
            for model in ((c["summary"] or {}).get("usage") or {})
        }
        if not models:
            return
        prices: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for project_id, model in models:
            rows = conn.execute(
                "SELECT llm_id, provider_id, prompt_token_cost, completion_token_cost, "
                "prompt_token_cost_unit, completion_token_cost_unit, effective_date "
                "FROM costs WHERE project_id = ? AND llm_id = ? ORDER BY effective_date, created_at",
                (project_id, model),
            ).fetchall()
            keys = (
                "llm_id",
                "provider_id",
                "prompt_token_cost",
                "completion_token_cost",
                "prompt_token_cost_unit",
                "completion_token_cost_unit",
                "effective_date",
            )
            prices[(project_id, model)] = [dict(zip(keys, r, strict=True)) for r in rows]
        for call in calls:
            usage = (call["summary"] or {}).get("usage") or {}
            started = to_us(call["started_at"])
            priced = {}
            for model, model_usage in usage.items():
                price = pick_price(prices.get((call["project_id"], model), []), started)
                if price is not None and isinstance(model_usage, Mapping):
                    priced[model] = price_usage(model_usage, price, call["project_id"])
            if priced:
                call["summary"]["weave"]["costs"] = priced
