"""One local OpenAI-compatible LLM server, shared by every notebook and test on the machine.

Loading the model costs a few seconds and ~1.2 GB of RAM; a course runs a dozen notebooks, each in
its own kernel, plus tests. So the server is started once, on a fixed port, in its own session
(it outlives the kernel that started it) and every later caller finds and reuses it:

    from utils.llm import server
    info = server.ensure_running()   # starts it, or reuses the one already up
    server.stop()                    # when you want the RAM back

From a shell: `python -m utils.llm start|stop|status|restart`.

What "already up" means is checked, not assumed: a process answering `/v1/models` with our model
alias is ours; anything else on the port is someone else's and we refuse to guess (pick another
port with `COURSE_LLM_PORT`). The server's pid and log live under `.course/llm/`, one pair
per port.

Two settings of llama-cpp-python's server matter for sharing it:
- `interrupt_requests` is on by default and cancels a running stream as soon as any other
  request arrives (even a health check from another notebook), so we turn it off.
- Every endpoint, `/v1/models` included, waits for the model lock, so a health check can time
  out while another caller is generating. A timeout is therefore not "dead": we fall back to the
  pidfile and the process table before concluding anything.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import errno
import fcntl
import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from utils.llm import model as _model
from utils.paths import runtime_path, shown

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
PORT_ENV = "COURSE_LLM_PORT"
MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"
N_CTX = 4096  # enough for RAG prompts with a few chunks; larger costs RAM and prompt time
N_THREADS = 2  # the course machines have 2 cores
THREADS_ENV = "COURSE_LLM_THREADS"  # fewer threads help when other jobs share the cores
# llama.cpp's OpenMP workers spin between tokens by default. On 2 cores shared with any other
# busy process that spinning starves the thread doing the work: measured here under load,
# decode fell to 1-2 tok/s and swung 3x between runs; with passive waiting it held 7-9 tok/s.
# On an idle machine a sleeping worker costs one wake-up per token (microseconds per ~100 ms).
SERVER_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
READY_TIMEOUT_S = 180.0
PROBE_TIMEOUT_S = 3.0
SERVER_EXTRAS = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")

PortState = Literal["ours", "other", "free"]
Log = Callable[[str], None]

_children: dict[int, subprocess.Popen[bytes]] = {}  # servers this process spawned, to reap them


class LLMServerError(RuntimeError):
    """The local LLM server cannot be started or reached; the message says what to do."""


class PortInUseError(LLMServerError):
    """The port is taken by something that is not the course's LLM server."""


@dataclass(frozen=True)
class ServerInfo:
    """Where the running server is and how we got it."""

    base_url: str  # OpenAI-style base URL, ending in /v1
    port: int
    model: str  # the model id to send in requests
    pid: int | None  # None when the server was found but its pid is unknown
    reused: bool  # True: it was already running; False: this call started it
    ready_s: float  # seconds this call spent until the server answered
    log_path: Path


def port() -> int:
    """The server port: `COURSE_LLM_PORT` if set, else the course default."""
    raw = os.environ.get(PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        value = int(raw)
    except ValueError:
        raise LLMServerError(f"{PORT_ENV} must be a port number, not {raw!r}") from None
    if not 1 <= value <= 65535:
        raise LLMServerError(f"{PORT_ENV} must be between 1 and 65535, not {value}")
    return value


def base_url(port_: int | None = None) -> str:
    """The OpenAI-compatible base URL of the local server."""
    return f"http://{HOST}:{port_ or port()}/v1"


def state_dir() -> Path:
    """Folder for the pidfile, lock and log."""
    return runtime_path("llm")


def pidfile_path(port_: int | None = None) -> Path:
    """The record of the server on a port (one per port: benchmarks run a second server)."""
    return state_dir() / f"server-{port_ or port()}.json"


def log_path(port_: int | None = None) -> Path:
    return state_dir() / f"server-{port_ or port()}.log"


# --- probing -------------------------------------------------------------------------------


def _port_bindable(port_: int, host: str = HOST) -> bool:
    """True if a server could listen on the port now.

    SO_REUSEADDR as servers (uvicorn included) set it: connections of a just-stopped server in
    TIME_WAIT must not make its own port look taken, while an active listener still does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port_))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _list_models(port_: int, timeout: float) -> list[str]:
    """Model ids served on the port; raises OSError/ValueError when it is not an OpenAI API."""
    req = urllib.request.Request(
        f"{base_url(port_)}/models", headers={"Accept": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    with opener.open(req, timeout=timeout) as resp:
        payload = json.load(resp)
    return [str(m.get("id")) for m in payload.get("data", []) if isinstance(m, dict)]


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _is_our_server_process(pid: int, port_: int) -> bool:
    """True if `pid` is a llama_cpp.server started by us for `port_` (checked via its argv)."""
    args = _cmdline(pid)
    if "llama_cpp.server" not in args:
        return False
    try:
        return args[args.index("--port") + 1] == str(port_)
    except (ValueError, IndexError):
        return False


def _read_pidfile(port_: int) -> dict[str, object] | None:
    try:
        data = json.loads(pidfile_path(port_).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def find_pid(port_: int | None = None) -> int | None:
    """The pid of our server on the port: from the pidfile, else from the process table.

    The process-table fallback covers a server started under another `COURSE_HOME` (tests do
    that), whose pidfile we cannot see. Only a process whose argv is our server command for
    this port qualifies, so nothing else can be mistaken for it.
    """
    port_ = port_ or port()
    data = _read_pidfile(port_)
    if data and data.get("port") == port_:
        pid = data.get("pid")
        if isinstance(pid, int) and _is_our_server_process(pid, port_):
            return pid
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_our_server_process(int(entry.name), port_):
            return int(entry.name)
    return None


def probe(port_: int | None = None, timeout: float | None = None) -> PortState:
    """Who is on the port: "ours" (the course server, alive), "other" (anything else), "free"."""
    port_ = port_ or port()
    try:
        models = _list_models(port_, PROBE_TIMEOUT_S if timeout is None else timeout)
    except urllib.error.HTTPError:
        return "other"  # an HTTP server, but not one that lists models
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as err:
        reason = err.reason if isinstance(err, urllib.error.URLError) else err
        if isinstance(reason, TimeoutError):
            # Our server holds its model lock while generating: slow may just mean busy.
            return "ours" if find_pid(port_) else "other"
        return "free" if _port_bindable(port_) else "other"
    return "ours" if MODEL_ALIAS in models else "other"


def _answers(port_: int, timeout: float = 1.0) -> bool:
    """True once our server lists its model (no bind test: it could race the server's bind)."""
    try:
        return MODEL_ALIAS in _list_models(port_, timeout)
    except (OSError, ValueError, http.client.HTTPException):
        return False


def is_running(port_: int | None = None) -> bool:
    """True if the course server answers on the port."""
    return probe(port_) == "ours"


# --- starting and stopping -----------------------------------------------------------------


def check_runtime() -> None:
    """Raise LLMServerError naming what is missing if llama-cpp-python's server can't run."""
    missing = [name for name in SERVER_EXTRAS if importlib.util.find_spec(name) is None]
    if missing:
        raise LLMServerError(
            "the local LLM server needs llama-cpp-python with its [server] extras; missing: "
            + ", ".join(missing)
            + ". Run the course setup script (see README), which builds and installs it."
        )


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    """One starter at a time across processes (two notebooks opened together)."""
    with (state_dir() / "server.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _log_tail(port_: int, lines: int = 25) -> str:
    try:
        text = log_path(port_).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def threads() -> int:
    """Decode threads: `COURSE_LLM_THREADS` or 2.

    llama.cpp's threads wait for each other at every layer by spinning, so on cores that other
    busy processes share, 2 threads can be several times slower than 1. The default suits an
    otherwise idle machine, which is where learners run the course.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    try:
        return max(1, int(raw)) if raw else N_THREADS
    except ValueError:
        raise LLMServerError(f"{THREADS_ENV} must be a whole number, not {raw!r}") from None


def server_command(model_file: Path, port_: int, n_ctx: int = N_CTX) -> list[str]:
    """The argv that runs the server (kept public so benchmarks and docs show the same thing)."""
    n_threads = threads()
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_file),
        "--model_alias", MODEL_ALIAS,
        "--host", HOST,
        "--port", str(port_),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(n_threads),
        "--n_threads_batch", str(n_threads),
        "--interrupt_requests", "False",
    ]  # fmt: skip


def _spawn(model_file: Path, port_: int, n_ctx: int) -> subprocess.Popen[bytes]:
    cmd = server_command(model_file, port_, n_ctx)
    with log_path(port_).open("ab") as log:
        stamp = _dt.datetime.now().isoformat(timespec="seconds")
        log.write(f"\n=== {stamp} starting on port {port_}\n".encode())
        log.flush()
        env = dict(os.environ)
        for name, value in SERVER_ENV.items():
            env.setdefault(name, value)  # the caller's own setting wins
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=state_dir(),
            start_new_session=True,  # own session: survives the kernel, not hit by its Ctrl-C
            close_fds=True,
        )
    _children[proc.pid] = proc
    record = {
        "pid": proc.pid,
        "port": port_,
        "model": MODEL_ALIAS,
        "model_file": shown(model_file),
        "n_ctx": n_ctx,
        "started": stamp,
    }
    pidfile_path(port_).write_text(json.dumps(record, indent=1) + "\n")
    return proc


def ensure_running(
    port_: int | None = None,
    *,
    n_ctx: int = N_CTX,
    timeout: float = READY_TIMEOUT_S,
    log: Log = print,
) -> ServerInfo:
    """Return the running course server, starting it if nobody has.

    Raises PortInUseError if something else holds the port, and LLMServerError if
    llama-cpp-python or the model is missing or the server dies while loading (with its log).
    """
    port_ = port_ or port()
    t0 = time.monotonic()
    with _start_lock():
        state = probe(port_)
        if state == "ours":
            return ServerInfo(
                base_url(port_), port_, MODEL_ALIAS, find_pid(port_), True,
                time.monotonic() - t0, log_path(port_),
            )  # fmt: skip
        if state == "other":
            raise PortInUseError(
                f"port {port_} is in use by something that is not the course LLM server. "
                f"Stop that program, or choose another port: `export {PORT_ENV}=8766` "
                "(in a notebook: os.environ[...] before the first LLM call)."
            )
        check_runtime()
        try:
            model_file = _model.ensure_model(download=False)
        except _model.ModelError as err:
            raise LLMServerError(str(err)) from None
        log(f"starting the local LLM server ({MODEL_ALIAS}) on port {port_} ...")
        proc = _spawn(model_file, port_, n_ctx)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                pidfile_path(port_).unlink(missing_ok=True)
                raise LLMServerError(
                    f"the LLM server exited with code {code} while starting. Last lines of "
                    f"{shown(log_path(port_))}:\n{_log_tail(port_)}"
                )
            if _answers(port_):
                _first_token(port_, proc, max(10.0, deadline - time.monotonic()))
                ready = time.monotonic() - t0
                log(f"local LLM server ready in {ready:.1f}s: {base_url(port_)}")
                return ServerInfo(
                    base_url(port_), port_, MODEL_ALIAS, proc.pid, False, ready, log_path(port_)
                )
            time.sleep(0.2)
        _terminate(proc.pid)
        raise LLMServerError(
            f"the LLM server did not answer within {timeout:.0f}s; see "
            f"{shown(log_path(port_))}:\n{_log_tail(port_)}"
        )


REBUILD_HINT = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --no-cache-dir --force-reinstall --no-deps '
    "llama-cpp-python==0.3.36"
)


def _first_token(port_: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Run a short prompt batch, so a build that crashes on its first decode fails here, clearly.

    Listing models does not touch the compute kernels. A llama.cpp built with -march=native on
    a VM whose CPU advertises AMX but cannot use it loads fine, then dies with SIGSEGV on its
    first prompt; without this check the learner would see a bare "connection reset" later.
    """
    prompt = "The quick brown fox jumps over the lazy dog. The capital of France is"
    body = json.dumps({"prompt": prompt, "max_tokens": 1, "temperature": 0}).encode()
    req = urllib.request.Request(
        f"{base_url(port_)}/completions", data=body, headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as resp:
            resp.read()
        return
    except (OSError, http.client.HTTPException) as err:
        error: Exception = err
    try:
        code = proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        code = None
    pidfile_path(port_).unlink(missing_ok=True)
    if code == -signal.SIGSEGV:
        raise LLMServerError(
            "llama.cpp crashed (SIGSEGV) evaluating its first prompt. A llama-cpp-python built for this "
            "exact CPU (GGML_NATIVE) does this on VMs that advertise AMX without enabling it. "
            f"Rebuild it portably: {REBUILD_HINT}"
        )
    _terminate(proc.pid)
    raise LLMServerError(
        f"the LLM server started but failed its first generation ({error}); see "
        f"{shown(log_path(port_))}:\n{_log_tail(port_)}"
    )


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None  # also reaps it, so it does not linger as a zombie
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _terminate(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the server's process group (it leads its own session), SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                _children.pop(pid, None)
                return
            time.sleep(0.1)
    _children.pop(pid, None)


def stop(port_: int | None = None, timeout: float = 15.0) -> bool:
    """Stop the course server on the port; True if one was running. Safe to call any time."""
    port_ = port_ or port()
    pid = find_pid(port_)
    if pid is None:
        pidfile_path(port_).unlink(missing_ok=True)  # stale if present: its process is gone
        return False
    _terminate(pid, timeout)
    data = _read_pidfile(port_)
    if data and data.get("pid") == pid:
        pidfile_path(port_).unlink(missing_ok=True)
    return True


def status(port_: int | None = None) -> dict[str, object]:
    """A small, printable summary: state of the port, pid, URL, log."""
    port_ = port_ or port()
    state = probe(port_)
    return {
        "state": state,
        "port": port_,
        "pid": find_pid(port_) if state == "ours" else None,
        "base_url": base_url(port_),
        "model": MODEL_ALIAS,
        "log": shown(log_path(port_)),
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m utils.llm start|stop|status|restart [--port N]` (see utils/llm/__main__.py)."""
    parser = argparse.ArgumentParser(
        prog="python -m utils.llm",
        description="Start, stop or inspect the course's shared local LLM server.",
    )
    parser.add_argument("action", choices=["start", "stop", "status", "restart"])
    parser.add_argument("--port", type=int, default=None, help=f"default: ${PORT_ENV} or 8765")
    args = parser.parse_args(argv)
    try:
        if args.action in ("stop", "restart"):
            print("stopped" if stop(args.port) else "not running")
        if args.action in ("start", "restart"):
            info = ensure_running(args.port)
            how = "already running" if info.reused else f"started in {info.ready_s:.1f}s"
            print(f"{how}: {info.base_url} (model {info.model}, pid {info.pid})")
        if args.action == "status":
            for key, value in status(args.port).items():
                print(f"{key}: {value}")
    except LLMServerError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    return 0
