"""Read back what a run logged, in either mode, through one call: `logged_run(run)`.

Online, what a run logged lives on the W&B server and the public `wandb.Api` reads it.
Locally, it lives in the run's offline files, which `utils.wandb_offline.OfflineRun` decodes.
Notebooks call only `logged_run`, so the same cell shows a learner their run in both modes;
`tests/test_hygiene.py` refuses a notebook that reaches for the local-only reader directly.

Both readers answer the same questions (`LoggedRun`): config, summary, history and scalar
metrics, which keys hold tables and at which steps, a table as a DataFrame (images as PIL
images; boxes, masks, audio and HTML as shown by `utils.display`), and logged artifacts.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import pandas as pd

from utils.wandb_offline import OfflineRun, numeric_metrics, table_keys_of, table_steps


class LoggedRun(Protocol):
    """What both readers answer."""

    @property
    def id(self) -> str: ...

    @property
    def complete(self) -> bool: ...

    @property
    def config(self) -> dict[str, Any]: ...

    @property
    def summary(self) -> dict[str, Any]: ...

    @property
    def history(self) -> pd.DataFrame: ...

    def scalars(self) -> pd.DataFrame: ...

    def table_keys(self) -> list[str]: ...

    def table_versions(self, key: str) -> list[int]: ...

    def table(self, key: str, step: int | None = None, images: bool = True) -> pd.DataFrame: ...

    def artifacts(self, include_tables: bool = False) -> pd.DataFrame: ...


class ApiRun:
    """A run read back from the W&B server with the public `wandb.Api` (online mode)."""

    def __init__(self, api_run: Any, api: Any) -> None:
        self._run, self._api = api_run, api

    @property
    def id(self) -> str:
        return str(self._run.id)

    @property
    def complete(self) -> bool:
        return str(self._run.state) in ("finished", "crashed", "failed", "killed")

    @property
    def config(self) -> dict[str, Any]:
        return {k: v for k, v in dict(self._run.config).items() if not k.startswith("_")}

    @property
    def summary(self) -> dict[str, Any]:
        return {k: v for k, v in dict(self._run.summary).items() if not k.startswith("_")}

    @property
    def history(self) -> pd.DataFrame:
        frame = pd.DataFrame(list(self._run.scan_history()))
        return frame.set_index("_step") if "_step" in frame else frame

    def scalars(self) -> pd.DataFrame:
        return numeric_metrics(self.history)

    def table_keys(self) -> list[str]:
        return table_keys_of(self.summary, self.history)

    def table_versions(self, key: str) -> list[int]:
        return table_steps(self.history, key)

    def _table_artifacts(self, key: str) -> list[Any]:
        """The run's table artifacts for `key`, oldest version first (one per distinct log)."""
        name = f"run-{self.id}-{key}"
        arts = [a for a in self._run.logged_artifacts() if a.name.split(":")[0] == name]
        return sorted(arts, key=lambda a: int(str(a.version).lstrip("v") or 0))

    def table(self, key: str, step: int | None = None, images: bool = True) -> pd.DataFrame:
        arts = self._table_artifacts(key)
        if not arts:
            raise KeyError(f"no table logged under {key!r}")
        art = arts[-1]
        if step is not None:
            # One artifact version per log of changed content: the i-th log is version i.
            steps = self.table_versions(key)
            art = arts[min(steps.index(step), len(arts) - 1)]
        frame = art.get(key).get_dataframe()
        if images:
            frame = frame.map(lambda v: v.image if hasattr(v, "image") and v.image else v)
        return frame

    def artifacts(self, include_tables: bool = False) -> pd.DataFrame:
        rows = [
            {
                "name": a.name.split(":")[0],
                "type": a.type,
                "aliases": list(a.aliases),
                "digest": a.digest,
                "files": a.file_count,
                "bytes": a.size,
                "metadata": dict(a.metadata),
            }
            for a in self._run.logged_artifacts()
            if include_tables or a.type != "run_table"
        ]
        return pd.DataFrame(rows)


def is_online_run(run: Any) -> bool:
    """True for a run that streams to a W&B server (a folder or an offline run is local)."""
    if isinstance(run, str | os.PathLike):
        return False
    settings = getattr(run, "settings", None)
    return not bool(getattr(settings, "_offline", True))


def logged_run(run: Any) -> LoggedRun:
    """What `run` logged: from the W&B server online (`wandb.Api`), from the run's offline
    files locally. `run` is a finished `wandb.Run` (or, locally, a run folder)."""
    if is_online_run(run):
        import wandb

        api = wandb.Api()
        return ApiRun(api.run(f"{run.entity}/{run.project}/{run.id}"), api)
    return OfflineRun.load(run)
