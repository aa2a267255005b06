"""A throwaway local Weave client for tests: a fresh store file, closed afterwards.

    from utils.tracing.testing import local_client
    def test_something(tmp_path):
        with local_client(tmp_path) as client:
            ...

Other modules' tests (chapters, utils) can trace against it the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from utils.tracing.client import close_store, init_local

if TYPE_CHECKING:
    from weave.trace.weave_client import WeaveClient


@contextmanager
def local_client(
    directory: Path, project: str = "course-test", autopatch: bool = False
) -> Iterator[WeaveClient]:
    """Yield a global `WeaveClient` on `directory/traces.sqlite`; finish and close after."""
    path = Path(directory) / "traces.sqlite"
    client = init_local(project, path=path, autopatch=autopatch)
    try:
        yield client
    finally:
        close_store(path)
