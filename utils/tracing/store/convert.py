"""Value conversions between the weave protocol and SQLite columns.

Times are stored as integer microseconds since the Unix epoch: they sort and subtract
exactly in SQL (latency is `ended_at - started_at`), which ISO strings do not. JSON columns
hold compact JSON text so SQLite's JSON1 functions can filter and sort on nested fields.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import warnings
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
# per call, which is measurable on the per-call write path. `allow_nan=False` makes the common
# case (no NaN anywhere) cost nothing extra: only a value that holds one takes the slow path.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=False, allow_nan=False)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _finite(value: Any) -> Any:
    """`value` with every NaN/Infinity replaced by None, as weave's HTTP client sends them.

    (`weave.trace_server_bindings.remote_http_trace_server` encodes request bodies with
    `inf_nan_mode="null"`, so the online service stores null; SQLite's JSON functions reject
    the bare `NaN` that `json` would write, which broke every query on that column.)
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _escape_surrogate(match: re.Match[str]) -> str:
    # Inside a JSON string: an escaped backslash, then the code point, so the stored text is
    # valid UTF-8 and the value reads back as the visible characters `\ud800`.
    return f"\\\\u{ord(match.group()):04x}"


def dumps(value: Any, what: str = "a value") -> str:
    """Compact JSON that SQLite can store and its JSON functions can read.

    Anything the client did not already make JSON-safe becomes a string; NaN and infinities
    become null (what the online service stores); a lone surrogate, which Python strings allow
    but UTF-8 cannot encode, is stored escaped as the text `\\udXXX`, with a warning naming
    `what`, so one bad value never costs the other values written with it.
    """
    try:
        text = _ENCODER.encode(value)
    except ValueError:  # NaN or an infinity somewhere inside
        text = _ENCODER.encode(_finite(value))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _SURROGATE.sub(_escape_surrogate, text)
            warnings.warn(
                f"local trace store: {what} holds a lone surrogate character (not valid "
                "UTF-8); it is stored escaped as the text \\udXXX",
                StoreValueWarning,
                stacklevel=2,
            )
    return text


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


class StoreValueWarning(UserWarning):
    """A value was stored differently from how it was sent (and the warning says how)."""
