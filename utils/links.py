"""Where a learner looks at what a notebook logged, in words and (online) links.

Online, wandb and weave print their own links; a chapter also prints them in one standard
cell so they are easy to find again. Locally there is nothing to click, so the same cell says
where the data is on disk and how it could be uploaded later. Paths are shown relative to the
course (`utils.paths.shown`), never as machine paths.
"""

from __future__ import annotations

from typing import Any

from utils.paths import shown


def _run_lines(run: Any) -> list[str]:
    if run is None:
        return []
    from utils.logged import is_online_run

    if not is_online_run(run):
        folder = shown(run.dir).removesuffix("/files")
        return [
            f"W&B run {run.id} ({run.project}): saved offline in {folder}",
            "  read it back with utils.logged.logged_run(run); upload later with `wandb sync`",
        ]
    return [f"W&B run {run.id}: {run.url}"]


def _weave_lines(client: Any, session: str) -> list[str]:
    if client is None:
        return []
    from utils.tracing.client import is_local, store_path

    scope = f" · this session: attributes.session = {session!r}" if session else ""
    if is_local():
        return [f"Weave traces ({client.project}): local store {shown(store_path())}{scope}"]
    from weave.trace.urls import project_weave_root_url

    return [f"Weave traces: {project_weave_root_url(client.entity, client.project)}{scope}"]


def describe(run: Any = None, client: Any = None, session: str = "") -> str:
    """The lines the standard links cell prints."""
    lines = _run_lines(run) + _weave_lines(client, session)
    return "\n".join(lines) if lines else "nothing logged yet: pass run= and/or client="
