"""Weave tracing for the course, online or fully offline.

    from utils import tracing
    client = tracing.init("wandb-course-01-weave")   # instead of weave.init(...)
    ...                                             # plain @weave.op / weave.publish / ...
    tracing.calls_frame(client)                     # calls as a pandas DataFrame
    tracing.show_trace(client, call)                # one trace as an HTML tree

Importing this package does not import weave: `init` first sets the environment that keeps
weave from reporting errors to Sentry, which must happen before weave is imported.
"""

from __future__ import annotations

from utils.tracing.client import init, store_path
from utils.tracing.pin import SUPPORTED_WEAVE
from utils.tracing.view import calls_frame, show_trace, this_session, trace_frame, trace_html

__all__ = [
    "SUPPORTED_WEAVE",
    "calls_frame",
    "init",
    "show_trace",
    "store_path",
    "this_session",
    "trace_frame",
    "trace_html",
]
