"""Where the course keeps things.

Everything the course *writes* at run time (wandb run folders, the local Weave store, caches,
executed notebooks, server logs, the local model) lives under one git-ignored folder, `.course/`
at the repository root, so a learner can wipe all state with one `rm -rf .course` and git never
sees generated files. `COURSE_HOME` moves it (CI and tests use this to isolate runs).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"


def runtime_dir() -> Path:
    """The one folder for generated state (created on first use)."""
    root = Path(os.environ.get("COURSE_HOME", REPO_ROOT / ".course")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def runtime_path(*parts: str) -> Path:
    """A sub-folder of the runtime dir, created on first use: `runtime_path("wandb")`."""
    path = runtime_dir().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shown(path: os.PathLike[str] | str) -> str:
    """A path as it may appear in notebook output: relative to the repo, never a machine path."""
    p = Path(path).resolve()
    for base, label in ((runtime_dir(), ".course"), (REPO_ROOT, ".")):
        try:
            return str(Path(label) / p.relative_to(base))
        except ValueError:
            continue
    return p.name
