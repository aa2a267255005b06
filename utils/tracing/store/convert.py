"""Value conversions between the weave protocol and SQLite columns.

Times are stored as integer microseconds since the Unix epoch: they sort and subtract
exactly in SQL (latency is `ended_at - started_at`), which ISO strings do not. JSON columns
hold compact JSON text so SQLite's JSON1 functions can filter and sort on nested fields.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, overload

from utils.tracing.store.rules import REF_PREFIX

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)


def now_us() -> int:
    """The current time in epoch microseconds."""
    return to_us(dt.datetime.now(tz=dt.UTC))


@overload
def to_us(value: dt.datetime | str) -> int: ...
@overload
def to_us(value: None) -> None: ...
def to_us(value: dt.datetime | str | None) -> int | None:
    """A protocol timestamp (datetime or ISO string; naive means UTC) as epoch microseconds."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    # Integer arithmetic: `timestamp()` is a float and drops the last microsecond digit.
    return (value - EPOCH) // _MICRO


@overload
def from_us(value: int) -> dt.datetime: ...
@overload
def from_us(value: None) -> None: ...
def from_us(value: int | None) -> dt.datetime | None:
    """Epoch microseconds back to an aware UTC datetime."""
    if value is None:
        return None
    return EPOCH + dt.timedelta(microseconds=value)


# One encoder for the process: `json.dumps` with non-default options builds a new encoder
# per call, which is measurable on the per-call write path.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON; anything the client did not already make JSON-safe becomes a string."""
    return _ENCODER.encode(value)


def loads(text: str | bytes | None, default: Any = None) -> Any:
    """JSON text (or NULL) back to Python."""
    if text is None:
        return default
    return json.loads(text)


def iter_refs(value: Any) -> Iterator[str]:
    """Every `weave:///` ref string nested anywhere in a JSON value.

    The server indexes these per call so `filter={"input_refs": [...]}` (how an Evaluation
    finds its own runs) is a lookup rather than a scan of every call's inputs.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.startswith(REF_PREFIX):
                yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
