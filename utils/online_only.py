"""The one way the course marks code that needs a W&B server.

A few calls cannot work without the server that owns the data: registry links, `use_artifact`
of a remote artifact, `wandb.Api()`, `Report.save()`. Rather than hide them, a cell defines the
real code as a function and decorates it; the decorator runs it online and, locally, prints why
it was skipped and what the learner would see online. The body stays real Python, so linters and
mypy still check the call's arguments in local mode, and `scripts/online_only_cells.py` can count
these cells by looking for the decorator.

    @online_only(
        why="Registry links live on the W&B server.",
        online="Registry > Models > shapes-vqa gains version v0 with alias 'staging'.",
    )
    def link_model():
        run.link_artifact(artifact, "wandb-registry-model/shapes-vqa", aliases=["staging"])

After the cell, `link_model` holds the function's return value online and `None` locally.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from utils.mode import resolved

T = TypeVar("T")


@dataclass(frozen=True)
class Skipped:
    name: str
    why: str
    online: str


SKIPPED: list[Skipped] = []  # what this kernel skipped, for a chapter's closing summary


def _is_online() -> bool:
    return resolved() == "online"


def _show(item: Skipped) -> None:
    text = (
        f"⏭  ONLINE-ONLY · {item.name} skipped in local mode\n"
        f"   why: {item.why}\n"
        f"   online you would see: {item.online}"
    )
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:  # rich box in notebooks, plain text as the fallback
            box = (
                '<div style="border-left:4px solid #f5a623;padding:4px 10px;'
                'background:rgba(245,166,35,.08)"><b>⏭ ONLINE-ONLY</b> · '
                f"<code>{html.escape(item.name)}</code> skipped in local mode<br>"
                f"<b>why:</b> {html.escape(item.why)}<br>"
                f"<b>online you would see:</b> {html.escape(item.online)}</div>"
            )
            display({"text/html": box, "text/plain": text}, raw=True)
            return
    except ImportError:
        pass
    print(text)


def online_only(*, why: str, online: str) -> Callable[[Callable[[], T]], T | None]:
    """Run the decorated zero-argument function now if online; else explain the skip."""
    if not why.strip() or not online.strip():
        raise ValueError("online_only needs both `why` and `online` (what the learner would see)")

    def run(fn: Callable[[], T]) -> T | None:
        if _is_online():
            return fn()
        item = Skipped(fn.__name__, why, online)
        SKIPPED.append(item)
        _show(item)
        return None

    return run


def skipped_summary() -> list[dict[str, Any]]:
    """What was skipped in this kernel, as rows for a table."""
    return [{"cell": s.name, "why": s.why} for s in SKIPPED]
