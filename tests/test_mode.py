"""Mode detection: keys decide, nothing prompts, a bad key fails fast with advice."""

from __future__ import annotations

import http.server
import sys
import threading
import time
import types
from collections.abc import Iterator

import pytest

from utils import mode


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("WANDB_API_KEY", "OPENAI_API_KEY", "COURSE_MODE", "WANDB_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    return monkeypatch


def test_no_key_means_local(clean_env: pytest.MonkeyPatch) -> None:
    m = mode.detect()
    assert m.local and m.key_source == "no key found" and not m.openai


def test_env_key_means_online(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WANDB_API_KEY", "x" * 40)
    clean_env.setenv("OPENAI_API_KEY", "y")
    m = mode.detect()
    assert m.online and m.key_source == "$WANDB_API_KEY" and m.openai


def test_override_forces_local_even_with_key(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WANDB_API_KEY", "x" * 40)
    clean_env.setenv("COURSE_MODE", "local")
    assert mode.detect().local


def test_forced_online_without_key_explains(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("COURSE_MODE", "online")
    with pytest.raises(mode.KeyError_, match="WANDB_API_KEY"):
        mode.detect()


def test_bad_override_value(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("COURSE_MODE", "cloud")
    with pytest.raises(ValueError, match="auto, local or online"):
        mode.detect()


def test_colab_secret_is_second_choice(clean_env: pytest.MonkeyPatch) -> None:
    """Inside Colab the secret is read with userdata.get, never with a prompt."""
    asked: list[str] = []

    def get(name: str) -> str:
        asked.append(name)
        if name == "WANDB_API_KEY":
            return "colab-secret-key"
        raise KeyError(name)  # Colab raises SecretNotFoundError for absent secrets

    colab = types.ModuleType("google.colab")
    colab.userdata = types.SimpleNamespace(get=get)  # type: ignore[attr-defined]
    clean_env.setitem(sys.modules, "google.colab", colab)
    m = mode.detect()
    assert m.online and m.key_source == "Colab secret WANDB_API_KEY" and not m.openai
    assert "WANDB_API_KEY" in asked
    clean_env.setenv("WANDB_API_KEY", "env-key")
    assert mode.detect().key_source == "$WANDB_API_KEY"  # env var wins over the secret


def test_configure_local_sets_offline_and_quiet(clean_env: pytest.MonkeyPatch, tmp_path) -> None:
    clean_env.setenv("COURSE_HOME", str(tmp_path))
    for name in [*mode.QUIET_ENV, "WANDB_DIR", "WANDB_CONFIG_DIR"]:
        clean_env.delenv(name, raising=False)
    mode.configure(mode.detect())
    import os

    assert os.environ["WANDB_MODE"] == "offline"
    assert os.environ["WANDB_ERROR_REPORTING"] == "false"
    assert os.environ["WANDB_DIR"].startswith(str(tmp_path))
    assert os.environ["COURSE_MODE_RESOLVED"] == "local"


class _Auth(http.server.BaseHTTPRequestHandler):
    """A stand-in for the W&B API: rejects every key, like the real one does a wrong key."""

    status = 401

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.status == 200:
            body = b'{"data": {"viewer": {"username": "learner"}}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(self.status)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_wandb(clean_env: pytest.MonkeyPatch) -> Iterator[type[_Auth]]:
    handler = type("H", (_Auth,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clean_env.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield handler
    server.shutdown()


def test_wrong_key_fails_fast_with_advice(fake_wandb: type[_Auth]) -> None:
    start = time.monotonic()
    with pytest.raises(mode.KeyError_, match="rejected WANDB_API_KEY") as err:
        mode.check_wandb_key("0" * 40)
    assert time.monotonic() - start < 10
    assert "local mode" in str(err.value)


def test_right_key_returns_user(fake_wandb: type[_Auth]) -> None:
    fake_wandb.status = 200
    assert mode.check_wandb_key("0" * 40) == "learner"


def test_unreachable_server_fails_within_ten_seconds(clean_env: pytest.MonkeyPatch) -> None:
    # A port nobody listens on: refused at once. (A black-holed host is covered by the timeout.)
    clean_env.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    start = time.monotonic()
    with pytest.raises(mode.KeyError_, match="COURSE_MODE=local"):
        mode.check_wandb_key("0" * 40)
    assert time.monotonic() - start < 10


def test_key_check_timeout_is_bounded() -> None:
    assert mode.KEY_CHECK_TIMEOUT_S < 10


def test_banner_names_the_mode() -> None:
    local = mode.CourseMode("local", "no key found", openai=False)
    online = mode.CourseMode("online", "$WANDB_API_KEY", openai=True)
    assert "LOCAL mode" in mode.banner(local, "01-weave")
    assert "ONLINE mode" in mode.banner(online, "01-weave") and "OpenAI" in mode.banner(online, "x")
