"""One local OpenAI-compatible LLM server, shared by every notebook and test on the machine.

Loading the model costs a few seconds and ~1.2 GB of RAM; a course runs a dozen notebooks, each in
its own kernel, plus tests. So the server is started once, on a fixed port, in its own session
(it outlives the kernel that started it) and every later caller finds and reuses it:

    from utils.llm import server
    info = server.ensure_running()   # starts it, or reuses the one already up
    server.stop()                    # when you want the RAM back

From a shell: `python -m utils.llm start|stop|status|restart` (`stop --all` also stops course
servers on other ports or in other network namespaces, e.g. left by a test run). Commands that
run many notebooks or tests wrap themselves in `stops_what_it_starts()`, so a server they
started is stopped when they end; one started from a notebook stays for the next notebook, and
the start message says how to stop it.

`status` reports the process that actually listens on the port (found through the kernel's
socket table, not the pidfile, which a server in another network namespace can have written)
and lists any other course servers still holding memory.

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
MODEL_ALIAS = _model.CHAT_MODEL.alias  # the course model's id; see model.chosen_alias()
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


@dataclass(frozen=True)
class LocalServer:
    """One server slot: a port and the files that belong to it (pidfile, log)."""

    port: int
    host: str = HOST

    @classmethod
    def at(cls, port_: int | None = None) -> LocalServer:
        """The slot on `port_`, or on the configured port (`COURSE_LLM_PORT`, else 8765)."""
        return cls(port_ or port())

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pidfile(self) -> Path:
        """The record of the server on this port (one per port: benchmarks run a second one)."""
        return state_dir() / f"server-{self.port}.json"

    @property
    def log(self) -> Path:
        return state_dir() / f"server-{self.port}.log"


def base_url(port_: int | None = None) -> str:
    """The OpenAI-compatible base URL of the local server."""
    return LocalServer.at(port_).base_url


def state_dir() -> Path:
    """Folder for the pidfile, lock and log."""
    return runtime_path("llm")


def pidfile_path(port_: int | None = None) -> Path:
    return LocalServer.at(port_).pidfile


def log_path(port_: int | None = None) -> Path:
    return LocalServer.at(port_).log


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


def _server_port(pid: int) -> int | None:
    """The `--port` of a llama_cpp.server process, or None if `pid` is not one."""
    args = _cmdline(pid)
    if "llama_cpp.server" not in args:
        return None
    try:
        return int(args[args.index("--port") + 1])
    except (ValueError, IndexError):
        return None


def _is_our_server_process(pid: int, port_: int) -> bool:
    """True if `pid` is a llama_cpp.server started by us for `port_` (checked via its argv)."""
    return _server_port(pid) == port_


def course_servers() -> dict[int, int]:
    """Every llama_cpp.server process visible to us: pid -> port (any network namespace)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            server_port = _server_port(int(entry.name))
            if server_port is not None:
                found[int(entry.name)] = server_port
    return found


def _listening_inodes(port_: int) -> set[str]:
    """Socket inodes listening on `port_` in *this* network namespace (/proc/net/tcp*)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEXIP:HEXPORT, state 0A is LISTEN, field 9 the inode
            if (
                len(fields) > 9
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == port_
            ):
                inodes.add(fields[9])
    return inodes


def listener_pid(port_: int | None = None) -> int | None:
    """The process that listens on the port here, from the kernel's socket table.

    Unlike the pidfile this cannot name a server in another network namespace (a test run
    inside `unshare -n` writes the same pidfile) or a process that has since exited.
    """
    port_ = LocalServer.at(port_).port
    inodes = _listening_inodes(port_)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in sorted(course_servers()) + [
        int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()
    ]:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return pid
            except OSError:
                continue
    return None


def _read_pidfile(port_: int) -> dict[str, object] | None:
    try:
        data = json.loads(pidfile_path(port_).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def find_pid(port_: int | None = None) -> int | None:
    """The pid of our server on the port: the listener, else the pidfile, else the process table.

    The listener is the truth when the server is up in this network namespace. The fallbacks
    cover a server still loading (not listening yet) and one started under another
    `COURSE_HOME` (tests do that). Only a process whose argv is our server command for this
    port qualifies, so nothing else can be mistaken for it.
    """
    port_ = LocalServer.at(port_).port
    pid = listener_pid(port_)
    if pid is not None and _is_our_server_process(pid, port_):
        return pid
    data = _read_pidfile(port_)
    if data and data.get("port") == port_:
        recorded = data.get("pid")
        if isinstance(recorded, int) and _is_our_server_process(recorded, port_):
            return recorded
    candidates = [p for p, server_port in course_servers().items() if server_port == port_]
    return candidates[0] if candidates else None


def probe(port_: int | None = None, timeout: float | None = None) -> PortState:
    """Who is on the port: "ours" (the course server, alive), "other" (anything else), "free"."""
    port_ = LocalServer.at(port_).port
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
    return "ours" if _model.chosen_alias() in models else "other"


def _answers(port_: int, timeout: float = 1.0) -> bool:
    """True once our server lists its model (no bind test: it could race the server's bind)."""
    try:
        return _model.chosen_alias() in _list_models(port_, timeout)
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


def server_command(
    model_file: Path, port_: int, n_ctx: int = N_CTX, alias: str | None = None
) -> list[str]:
    """The argv that runs the server (kept public so benchmarks and docs show the same thing)."""
    n_threads = threads()
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_file),
        "--model_alias", alias or _model.chosen_alias(),
        "--host", HOST,
        "--port", str(port_),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(n_threads),
        "--n_threads_batch", str(n_threads),
        "--interrupt_requests", "False",
    ]  # fmt: skip


def _spawn(model: _model.LocalModel, srv: LocalServer, n_ctx: int) -> subprocess.Popen[bytes]:
    assert model.path is not None
    cmd = server_command(model.path, srv.port, n_ctx, model.alias)
    with srv.log.open("ab") as log:
        stamp = _dt.datetime.now().isoformat(timespec="seconds")
        log.write(f"\n=== {stamp} starting on port {srv.port}\n".encode())
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
        "port": srv.port,
        "model": model.alias,
        "model_file": shown(model.path),
        "n_ctx": n_ctx,
        "started": stamp,
    }
    srv.pidfile.write_text(json.dumps(record, indent=1) + "\n")
    return proc


STOP_HINT = "it keeps running for the next notebook; stop it with `python -m utils.llm stop`"


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
    srv = LocalServer.at(port_)
    t0 = time.monotonic()
    with _start_lock():
        state = probe(srv.port)
        if state == "ours":
            return ServerInfo(
                srv.base_url, srv.port, _model.chosen_alias(), find_pid(srv.port), True,
                time.monotonic() - t0, srv.log,
            )  # fmt: skip
        if state == "other":
            raise PortInUseError(
                f"port {srv.port} is in use by something that is not the course LLM server. "
                f"Stop that program, or choose another port: `export {PORT_ENV}=8766` "
                "(in a notebook: os.environ[...] before the first LLM call)."
            )
        check_runtime()
        try:
            model = _model.local_model(download=False)
        except _model.ModelError as err:
            raise LLMServerError(str(err)) from None
        log(f"starting the local LLM server ({model.alias}) on port {srv.port} ...")
        proc = _spawn(model, srv, n_ctx)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                srv.pidfile.unlink(missing_ok=True)
                raise LLMServerError(
                    f"the LLM server exited with code {code} while starting. Last lines of "
                    f"{shown(srv.log)}:\n{_log_tail(srv.port)}"
                )
            if _answers(srv.port):
                _first_token(srv, proc, max(10.0, deadline - time.monotonic()))
                ready = time.monotonic() - t0
                log(f"local LLM server ready in {ready:.1f}s: {srv.base_url} ({STOP_HINT})")
                return ServerInfo(
                    srv.base_url, srv.port, model.alias, proc.pid, False, ready, srv.log
                )
            time.sleep(0.2)
        _terminate(proc.pid)
        raise LLMServerError(
            f"the LLM server did not answer within {timeout:.0f}s; see "
            f"{shown(srv.log)}:\n{_log_tail(srv.port)}"
        )


# The version lives in requirements/llm.txt only; the build script reads it from there.
REBUILD_HINT = "pip uninstall -y llama-cpp-python && python scripts/build_llama.py"


def _first_token(srv: LocalServer, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Run a short prompt batch, so a build that crashes on its first decode fails here, clearly.

    Listing models does not touch the compute kernels. A llama.cpp built with -march=native on
    a VM whose CPU advertises AMX but cannot use it loads fine, then dies with SIGSEGV on its
    first prompt; without this check the learner would see a bare "connection reset" later.
    """
    prompt = "The quick brown fox jumps over the lazy dog. The capital of France is"
    body = json.dumps({"prompt": prompt, "max_tokens": 1, "temperature": 0}).encode()
    req = urllib.request.Request(
        f"{srv.base_url}/completions", data=body, headers={"Content-Type": "application/json"}
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
    srv.pidfile.unlink(missing_ok=True)
    if code == -signal.SIGSEGV:
        raise LLMServerError(
            "llama.cpp crashed (SIGSEGV) evaluating its first prompt. A llama-cpp-python built for this "
            "exact CPU (GGML_NATIVE) does this on VMs that advertise AMX without enabling it. "
            f"Rebuild it portably: {REBUILD_HINT}"
        )
    _terminate(proc.pid)
    raise LLMServerError(
        f"the LLM server started but failed its first generation ({error}); see "
        f"{shown(srv.log)}:\n{_log_tail(srv.port)}"
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
    srv = LocalServer.at(port_)
    pid = find_pid(srv.port)
    if pid is None:
        srv.pidfile.unlink(missing_ok=True)  # stale if present: its process is gone
        return False
    _terminate(pid, timeout)
    data = _read_pidfile(srv.port)
    if data and data.get("pid") == pid:
        srv.pidfile.unlink(missing_ok=True)
    return True


def stop_all(timeout: float = 15.0) -> list[int]:
    """Stop every course server this user can see (all ports, all network namespaces).

    For a learner's own machine (`python -m utils.llm stop --all`); on a shared one it also
    stops other people's servers, which the next LLM call would start again.
    """
    pids = sorted(course_servers())
    for pid in pids:
        _terminate(pid, timeout)
    return pids


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


RUN_ENV = "COURSE_LLM_RUN"  # inherited by every process a command starts, servers included


def _environ_has(pid: int, entry: str) -> bool:
    try:
        return entry.encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


@contextlib.contextmanager
def stops_what_it_starts(log: Log = print) -> Iterator[None]:
    """Stop, on exit, every course server started (directly or by a child) inside the block.

    For commands that run many notebooks or tests (`make test`, `make course`). The block's
    processes inherit a run token through the environment; a server carrying it was started by
    this run, whoever spawned it (a notebook kernel, a test subprocess), and is stopped at the
    end, with the memory it frees in the log. Servers without it (yours, or another run's on a
    shared machine) are left alone.
    """
    token = f"{os.getpid()}-{time.monotonic_ns()}"
    previous = os.environ.get(RUN_ENV)
    os.environ[RUN_ENV] = token
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(RUN_ENV, None)
        else:
            os.environ[RUN_ENV] = previous
        for pid, server_port in sorted(course_servers().items()):
            if _environ_has(pid, f"{RUN_ENV}={token}"):
                rss = _rss_mb(pid)
                _terminate(pid)
                freed = f", {rss:,.0f} MB freed" if rss else ""
                log(
                    "stopped the local LLM server this run started "
                    f"(pid {pid}, port {server_port}{freed})"
                )


def status(port_: int | None = None) -> dict[str, object]:
    """A small, printable summary: who answers on the port, which process it is, what else runs.

    `pid` is the process listening on the port in this network namespace (None if nothing
    of ours answers); `other_servers` lists course servers elsewhere (other ports, or another
    network namespace, e.g. left behind by a test run) with the memory they hold.
    """
    srv = LocalServer.at(port_)
    state = probe(srv.port)
    listener = listener_pid(srv.port) if state == "ours" else None
    others = {pid: server_port for pid, server_port in course_servers().items() if pid != listener}
    recorded = _read_pidfile(srv.port)
    return {
        "state": state,
        "port": srv.port,
        "pid": listener,
        "rss_mb": round(_rss_mb(listener) or 0) if listener else None,
        "pidfile_pid": recorded.get("pid") if recorded else None,
        "base_url": srv.base_url,
        "model": _model.chosen_alias(),
        "log": shown(srv.log),
        "other_servers": ", ".join(
            f"pid {pid} (port {p}, {round(_rss_mb(pid) or 0)} MB)"
            for pid, p in sorted(others.items())
        )
        or "none",
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m utils.llm start|stop|status|restart [--port N] [--all]` (see __main__.py)."""
    parser = argparse.ArgumentParser(
        prog="python -m utils.llm",
        description="Start, stop or inspect the course's shared local LLM server.",
    )
    parser.add_argument("action", choices=["start", "stop", "status", "restart"])
    parser.add_argument("--port", type=int, default=None, help=f"default: ${PORT_ENV} or 8765")
    parser.add_argument(
        "--all", action="store_true", help="stop: every course server, on any port or namespace"
    )
    args = parser.parse_args(argv)
    try:
        if args.action == "stop" and args.all:
            pids = stop_all()
            print(f"stopped {len(pids)} server(s): {pids}" if pids else "none running")
        elif args.action in ("stop", "restart"):
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
