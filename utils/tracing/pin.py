"""The weave version the local trace store was written and tested against.

The store implements weave's *internal* client/server protocol, which can change in any
release. `tests/tracing/test_tracing_conformance.py` exercises every feature the chapters use through
the real client; when `requirements/lock.txt` moves weave, run it, fix what broke, then move
this pin. A mismatch at run time is a warning, not an error: most upgrades are harmless.
"""

from __future__ import annotations

import warnings

SUPPORTED_WEAVE = "0.54.0"


def check_weave_version(installed: str) -> bool:
    """Warn (once per call site) if the installed weave is not the pinned one."""
    if installed == SUPPORTED_WEAVE:
        return True
    warnings.warn(
        f"utils.tracing's local store was written for weave {SUPPORTED_WEAVE}, but weave "
        f"{installed} is installed; if traces look wrong, run "
        "`pytest tests/tracing/test_tracing_conformance.py`.",
        RuntimeWarning,
        stacklevel=3,
    )
    return False
