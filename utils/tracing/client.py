"""`init(project)`: the one call notebooks make instead of `weave.init`.

Online it *is* `weave.init`. Locally it builds the real `WeaveClient` on the course's SQLite
store and then does what `weave.init` does after authenticating: make the client global (so
`@weave.op`, `weave.publish`, `weave.ref(...).get()` find it) and switch on integration
autopatching (so OpenAI / LangChain / LlamaIndex calls are traced whether they were imported
before or after). Everything after that line in a notebook is plain Weave.

Re-running the cell is safe: the previous client is finished (its queued writes land) and
replaced. The store for a file is opened once per process and kept open, so objects fetched
through an earlier client (a Dataset whose rows load lazily) keep working.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils.mode import resolved
from utils.paths import runtime_path
from utils.tracing import quiet

if TYPE_CHECKING:
    from weave.trace.weave_client import WeaveClient

    from utils.tracing.store.server import LocalTraceServer

LOCAL_ENTITY = "local"

_stores: dict[Path, LocalTraceServer] = {}
_stores_lock = threading.Lock()


def store_path() -> Path:
    """Where local traces live: `.course/weave/traces.sqlite` (moved by COURSE_HOME)."""
    return runtime_path("weave") / "traces.sqlite"


def is_local() -> bool:
    """Local unless the setup cell resolved the course to online mode."""
    return resolved() == "local"


def split_project(project: str) -> tuple[str, str]:
    """`"team/name"` -> (team, name); a bare name gets the local entity."""
    if not project or not project.strip():
        raise ValueError("project must be a non-empty string")
    parts = project.strip().split("/")
    if len(parts) == 1:
        return LOCAL_ENTITY, parts[0]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    raise ValueError(f"project must be 'name' or 'entity/name', not {project!r}")


def open_store(path: Path | None = None) -> LocalTraceServer:
    """The process-wide store for `path` (default `store_path()`), opened on first use."""
    from utils.tracing.store.server import LocalTraceServer

    path = (path or store_path()).resolve()
    with _stores_lock:
        server = _stores.get(path)
        if server is None or server.closed:
            server = _stores[path] = LocalTraceServer(path)
        return server


def finish_current() -> None:
    """Flush and detach the global weave client, if any (what `weave.init` does first)."""
    from weave.trace.context import weave_client_context

    current = weave_client_context.get_weave_client()
    if current is not None:
        current.finish(use_progress_bar=False)
        weave_client_context.set_weave_client_global(None)


def init_local(
    project: str,
    path: Path | None = None,
    autopatch: bool = True,
    *,
    attributes: dict[str, Any] | None = None,
    postprocess_inputs: Callable[..., Any] | None = None,
    postprocess_output: Callable[..., Any] | None = None,
) -> WeaveClient:
    """A `WeaveClient` on the local store, installed as weave's global client.

    Takes the keyword arguments of `weave.init` that shape the client (attributes on every
    call, input/output post-processing), so a notebook passes the same ones in both modes.
    """
    quiet.silence(local=True)
    import weave
    from weave.integrations.patch import implicit_patch, register_import_hook
    from weave.trace.context import weave_client_context
    from weave.trace.weave_client import WeaveClient

    from utils.tracing.pin import check_weave_version

    quiet.disable_sentry()
    check_weave_version(weave.__version__)
    entity, name = split_project(project)
    finish_current()
    client = WeaveClient(
        entity,
        name,
        open_store(path),
        ensure_project_exists=False,
        attributes=attributes,
        postprocess_inputs=postprocess_inputs,
        postprocess_output=postprocess_output,
    )
    weave_client_context.set_weave_client_global(client)
    if autopatch:
        # The two calls weave.init makes: patch integrations already imported, and hook
        # the import system so ones imported later are patched on import.
        implicit_patch()
        register_import_hook()
    return client


def init(project: str, **weave_init_kwargs: Any) -> WeaveClient:
    """Start tracing to `project`: `weave.init(project, **kwargs)` online, the same
    `WeaveClient` on the local SQLite store otherwise (`attributes`, `postprocess_inputs`
    and `postprocess_output` apply in both)."""
    if not is_local():
        quiet.silence(local=False)
        import weave

        return weave.init(project, **weave_init_kwargs)
    return init_local(project, **weave_init_kwargs)


def close_store(path: Path | None = None) -> None:
    """Finish the global client if it uses this store, then close the store's file."""
    from weave.trace.context import weave_client_context

    path = (path or store_path()).resolve()
    with _stores_lock:
        server = _stores.pop(path, None)
    if server is None:
        return
    current = weave_client_context.get_weave_client()
    if current is not None and current.server is server:
        finish_current()
    server.close()
