"""Keep weave from phoning home: environment first, then the already-built Sentry client.

weave configures its Sentry error reporter when it is imported (and registers an atexit hook
that flushes a session to sentry.io, which costs a DNS lookup even with no network). The
variables in `utils.mode.QUIET_ENV` switch that off, but only if they are set *before* the
import; if a notebook imported weave first, the reporter already exists, so it is disabled
in place as well.
"""

from __future__ import annotations

import os
import sys

from utils.mode import QUIET_ENV, local_only_environment


def silence(local: bool) -> None:
    """Set the no-telemetry environment (keeping any value the user set) and mute Sentry."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    if local:
        local_only_environment()
    if "weave" in sys.modules:
        disable_sentry()


def disable_sentry() -> None:
    """Turn weave's Sentry wrapper into a no-op, including its atexit session flush."""
    from weave.telemetry import trace_sentry

    trace_sentry.global_trace_sentry._disabled = True
