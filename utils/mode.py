"""Online or local: decided once, before wandb/weave are imported.

The course runs the same cells in two modes. `online` talks to W&B (and OpenAI if a key is
there); `local` uses W&B's official offline mode, the course's SQLite Weave store and a local
LLM. The decision is made from what the machine has (keys), never from an interactive prompt:
a headless kernel that blocks on `getpass` would hang a workshop room or CI forever.

Order: `COURSE_MODE` (explicit override) > `WANDB_API_KEY` env var > Colab secret > local.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Literal

from utils.paths import runtime_path

Mode = Literal["online", "local"]
MODE_ENV = "COURSE_MODE"
KEY_CHECK_TIMEOUT_S = 8.0

# Variables that keep every library we use from phoning home. Set before import, because
# several (sentry in weave/wandb, gradio analytics) read them at import time.
QUIET_ENV = {
    "WANDB_ERROR_REPORTING": "false",
    "WANDB_X_DISABLE_STATS": "true",
    "WANDB_DISABLE_GIT": "true",
    "WANDB_DISABLE_CODE": "true",
    "WANDB_SILENT": "true",
    "WANDB_CONSOLE": "off",
    "WEAVE_PRINT_CALL_LINK": "false",
    "WEAVE_DISABLE_ANALYTICS": "true",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "ANONYMIZED_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


class KeyError_(RuntimeError):
    """A W&B key was found but W&B refused it (or could not be reached)."""


@dataclass(frozen=True)
class CourseMode:
    mode: Mode
    key_source: str  # where the W&B key came from, or why there is none
    openai: bool  # an OpenAI key is available (online LLM calls)
    notes: list[str] = field(default_factory=list)

    @property
    def local(self) -> bool:
        return self.mode == "local"

    @property
    def online(self) -> bool:
        return self.mode == "online"


def _colab_secret(name: str) -> str | None:
    """Read a Colab secret without ever prompting; None outside Colab or when absent."""
    if "google.colab" not in sys.modules:
        return None
    try:
        from google.colab import userdata  # type: ignore[import-not-found]

        return userdata.get(name)
    except Exception:  # SecretNotFoundError, NotebookAccessError, ...: treat as absent
        return None


def find_key(name: str) -> tuple[str | None, str]:
    """The value of a key and where it came from: env var first, Colab secret second."""
    if os.environ.get(name):
        return os.environ[name], f"${name}"
    value = _colab_secret(name)
    if value:
        return value, f"Colab secret {name}"
    return None, "no key found"


def detect() -> CourseMode:
    """Decide the mode from the environment alone (no network, no prompt)."""
    override = os.environ.get(MODE_ENV, "auto").strip().lower()
    if override not in ("auto", "local", "online"):
        raise ValueError(f"{MODE_ENV} must be auto, local or online, not {override!r}")
    key, source = find_key("WANDB_API_KEY")
    openai_key, _ = find_key("OPENAI_API_KEY")
    if override == "local":
        return CourseMode("local", f"forced by {MODE_ENV}=local", openai=False)
    if override == "online" and not key:
        raise KeyError_(
            f"{MODE_ENV}=online but no W&B key: set WANDB_API_KEY (or a Colab secret of that "
            "name), or unset COURSE_MODE to run locally."
        )
    if key:
        return CourseMode("online", source, openai=bool(openai_key))
    return CourseMode("local", source, openai=False)


def _api_base() -> str:
    return os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai").rstrip("/")


def check_wandb_key(key: str, timeout: float = KEY_CHECK_TIMEOUT_S) -> str:
    """Ask W&B who owns `key`; return the username or raise a message that says what to do.

    wandb itself retries a bad key for ~30 s before failing; a learner deserves to know in
    seconds, so this one GraphQL request has a hard timeout.
    """
    body = json.dumps({"query": "query { viewer { username entity } }"}).encode()
    token = base64.b64encode(f"api:{key}".encode()).decode()
    req = urllib.request.Request(
        f"{_api_base()}/graphql",
        data=body,
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            payload = json.load(resp)
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            raise KeyError_(
                f"W&B rejected WANDB_API_KEY (HTTP {err.code}). Copy a fresh key from "
                "https://wandb.ai/authorize, or unset it (and COURSE_MODE) to run the course "
                "in local mode."
            ) from None
        raise KeyError_(
            f"W&B answered HTTP {err.code}; try again, or set COURSE_MODE=local."
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        waited = time.monotonic() - start
        raise KeyError_(
            f"Could not reach W&B at {_api_base()} after {waited:.1f}s ({err}). Check the "
            "network, or set COURSE_MODE=local to run everything on this machine."
        ) from None
    viewer = (payload.get("data") or {}).get("viewer")
    if not viewer:
        raise KeyError_(
            "W&B did not recognise WANDB_API_KEY. Copy a fresh key from "
            "https://wandb.ai/authorize, or unset it to run in local mode."
        )
    return str(viewer.get("username") or viewer.get("entity") or "?")


def configure(mode: CourseMode) -> None:
    """Set the environment for `mode`; call before importing wandb or weave."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("WANDB_DIR", str(runtime_path("wandb")))
    os.environ.setdefault("WANDB_DATA_DIR", str(runtime_path("wandb", "data")))
    os.environ.setdefault("WANDB_CACHE_DIR", str(runtime_path("wandb", "cache")))
    os.environ.setdefault("WANDB_ARTIFACT_DIR", str(runtime_path("wandb", "artifacts")))
    if mode.local:
        os.environ["WANDB_MODE"] = "offline"
        # wandb.init() would otherwise call weave.init(), which always wants a W&B login;
        # locally, Weave runs on the course's own store (utils.tracing).
        os.environ["WANDB_DISABLE_WEAVE"] = "true"
        # Config dir holds settings + netrc lookups; keep local runs from reading a stale login.
        os.environ.setdefault("WANDB_CONFIG_DIR", str(runtime_path("wandb", "config")))
    else:
        os.environ.pop("WANDB_MODE", None) if os.environ.get("WANDB_MODE") == "offline" else None
    os.environ[MODE_ENV + "_RESOLVED"] = mode.mode


def banner(mode: CourseMode, chapter: str, extra: dict[str, str] | None = None) -> str:
    """The one line (plus details) every chapter prints so learners know where data goes."""
    if mode.online:
        where = "W&B cloud" + (" + OpenAI" if mode.openai else " + local LLM")
        head = f"[{chapter}] ONLINE mode: runs and traces go to the {where}"
    else:
        head = f"[{chapter}] LOCAL mode: wandb offline files, local Weave store, local LLM"
    lines = [head, f"  W&B key: {mode.key_source}"]
    lines += [f"  {k}: {v}" for k, v in (extra or {}).items()]
    lines += [f"  note: {n}" for n in mode.notes]
    return "\n".join(lines)
