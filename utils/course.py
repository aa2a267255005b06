"""The setup cell's one call: pick the mode, configure the environment, print the banner.

    from utils import course
    ctx = course.setup("01-weave")

Must run before `import wandb` / `import weave` in a kernel: both read telemetry and mode
variables at import time.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from typing import Any

from utils import mode as _mode
from utils import profiles
from utils.paths import runtime_dir, shown


def new_session_id(chapter: str) -> str:
    """A fresh id per kernel: `<chapter>-<UTC time>-<4 hex>`.

    Projects and the local store keep every call ever made; analyses in a chapter filter on
    this id (passed to weave as a call attribute) so a second run of a notebook counts only
    its own calls and prints the same numbers as the first.
    """
    import secrets
    import time

    return f"{chapter}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class Context:
    chapter: str
    mode: _mode.CourseMode
    profile: profiles.Profile
    session: str = ""

    @property
    def local(self) -> bool:
        return self.mode.local

    @property
    def fast(self) -> bool:
        return self.profile == "fast"

    def project(self, name: str | None = None) -> str:
        """The W&B/Weave project for this chapter (same name in both modes)."""
        return f"wandb-course-{name or self.chapter}"

    def show_links(self, run: Any = None, client: Any = None) -> None:
        """Where to look at what this notebook logged: the standard cell after `wandb.init`
        or `weave.init`. Online: the run page and the Weave project (links to click).
        Locally: the offline run folder (uploadable later with `wandb sync`) and the store."""
        from utils import links

        print(links.describe(run=run, client=client, session=self.session))


def _plain_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                   line: str | None = None) -> str:  # fmt: skip
    return f"{category.__name__}: {message}\n"


def _quiet_warnings() -> None:
    """Warnings without file paths (outputs must not show machine paths), minus known noise.

    weave reads pydantic fields in a deprecated way on every model access, and gradio hands
    pydantic a lock object; neither is something a learner can act on.
    """
    import warnings

    warnings.formatwarning = _plain_warning
    for category in (
        "PydanticDeprecatedSince20",
        "PydanticDeprecatedSince211",
        "ArbitraryTypeWarning",
    ):
        try:
            import pydantic.warnings as pw

            warnings.filterwarnings("ignore", category=getattr(pw, category))
        except (ImportError, AttributeError):
            continue


def setup(chapter: str, profile: str = profiles.DEFAULT, check_key: bool = True) -> Context:
    """Decide the mode once per kernel and print the banner learners look for."""
    profile = profiles.check(profile)
    mode = _mode.detect()
    extra = {"profile": profile, "state": shown(runtime_dir()), "python": platform.python_version()}
    if mode.online and check_key:
        key, _ = _mode.find_key("WANDB_API_KEY")
        assert key is not None
        os.environ["WANDB_API_KEY"] = key  # a Colab secret becomes visible to wandb
        extra["W&B user"] = _mode.check_wandb_key(key)
        if mode.openai:
            okey, _ = _mode.find_key("OPENAI_API_KEY")
            os.environ["OPENAI_API_KEY"] = okey or ""
    _mode.configure(mode)
    _quiet_warnings()
    if "wandb" in sys.modules or "weave" in sys.modules:
        mode.notes.append(
            "wandb/weave were imported before setup(); restart the kernel if "
            "telemetry or mode settings look wrong"
        )
    print(_mode.banner(mode, chapter, extra))
    return Context(chapter=chapter, mode=mode, profile=profile, session=new_session_id(chapter))
