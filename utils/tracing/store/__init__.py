"""The local Weave trace store: weave's trace-server protocol on one SQLite file.

Kept apart from `utils.tracing` (which holds the notebook entry `tracing.init` and the views)
because it is a different job with different readers: the store implements weave's internal
client/server protocol and changes when weave does, while the entry and the views follow the
public client API that notebooks use. Nothing in here imports the entry or the views.

Modules, one concern each: `db` (file, schema, transactions), `writer` (batched call writes),
`calls` (call reads), `objects` (versioned objects, tags, aliases, refs), `tables` (rows and
tables), `files`, `feedback`, `costs`, `query` (the query language compiled to SQL),
`convert` (times and JSON), `rules` (derived call fields shared with the views), and `server`
(the protocol object the client talks to).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from utils.tracing.store.server import LocalTraceServer

__all__ = ["LocalTraceServer"]


def __getattr__(name: str) -> object:
    # Lazy: importing the package must not import weave (see utils/tracing/__init__.py).
    if name == "LocalTraceServer":
        from utils.tracing.store.server import LocalTraceServer

        return LocalTraceServer
    raise AttributeError(name)
