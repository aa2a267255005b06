"""Mode detection: keys decide, nothing prompts, a bad key fails fast with advice."""

from __future__ import annotations

import http.server
import socket
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from utils import mode


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in (
        "WANDB_API_KEY",
        "OPENAI_API_KEY",
        "COURSE_MODE",
        "WANDB_MODE",
        "WANDB_BASE_URL",
        mode.OWN_OFFLINE_ENV,
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))  # the machine's own login stays out
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


def test_a_key_saved_by_wandb_login_is_found(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    netrc.chmod(0o600)
    clean_env.setenv("NETRC", str(netrc))
    m = mode.detect()
    assert m.online and "wandb login" in m.key_source
    assert mode.find_key("WANDB_API_KEY")[0] == "k" * 40
    clean_env.setenv("WANDB_BASE_URL", "https://wandb.example.com")  # another host: not ours
    assert mode.detect().local


def test_wandb_mode_offline_is_honoured_even_with_a_key(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WANDB_API_KEY", "x" * 40)
    clean_env.setenv("WANDB_MODE", "offline")
    m = mode.detect()  # raised before (and online setup then fought wandb's own setting)
    assert m.local and "WANDB_MODE=offline" in m.reason
    assert "(not used)" in m.key_source
    text = mode.banner(m, "x")
    assert "why: WANDB_MODE=offline" in text and "W&B key in $WANDB_API_KEY" in text
    clean_env.setenv("COURSE_MODE", "online")
    with pytest.raises(mode.UnverifiedKeyError, match="disagree"):
        mode.detect()


def test_our_own_offline_setting_does_not_pin_a_later_setup(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    clean_env.setenv("COURSE_HOME", str(tmp_path))
    mode.configure(mode.detect())  # no key: local, and WANDB_MODE=offline set by us
    assert os.environ["WANDB_MODE"] == "offline"
    clean_env.setenv("WANDB_API_KEY", "x" * 40)  # the learner adds a key, runs setup again
    again = mode.detect()
    assert again.online
    mode.configure(again)
    assert "WANDB_MODE" not in os.environ and mode.resolved() == "online"


def test_an_openai_only_key_is_mentioned(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OPENAI_API_KEY", "sk-x")
    m = mode.detect()
    assert m.local and not m.openai
    assert any("OPENAI_API_KEY" in n and "not used" in n for n in m.notes)
    assert "OpenAI key in $OPENAI_API_KEY" in mode.banner(m, "x")


def test_resolved_is_local_until_setup_says_otherwise(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.delenv(mode.RESOLVED_ENV, raising=False)
    assert mode.resolved() == "local"
    clean_env.setenv(mode.RESOLVED_ENV, "online")
    assert mode.resolved() == "online"
    clean_env.setenv(mode.RESOLVED_ENV, "garbage")
    assert mode.resolved() == "local"


def test_forced_online_without_key_explains(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("COURSE_MODE", "online")
    with pytest.raises(mode.UnverifiedKeyError, match="WANDB_API_KEY"):
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
    assert mode.resolved() == "local"
    assert os.environ["WANDB_SILENT"] == "true" and os.environ["WEAVE_PRINT_CALL_LINK"] == "false"


def test_configure_online_keeps_the_links(clean_env: pytest.MonkeyPatch, tmp_path) -> None:
    """Online, wandb's run link and weave's call links are what a learner clicks: not muted."""
    import os

    clean_env.setenv("COURSE_HOME", str(tmp_path))
    for name in [*mode.QUIET_ENV, *mode.LOCAL_QUIET_ENV, "WANDB_DIR", "WANDB_CONFIG_DIR"]:
        clean_env.delenv(name, raising=False)
    mode.configure(mode.CourseMode("online", "$WANDB_API_KEY", openai=False))
    assert "WANDB_SILENT" not in os.environ and "WEAVE_PRINT_CALL_LINK" not in os.environ
    assert os.environ["WANDB_ERROR_REPORTING"] == "false"  # telemetry stays off in both modes


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
    with pytest.raises(mode.UnverifiedKeyError, match="rejected WANDB_API_KEY") as err:
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
    with pytest.raises(mode.UnverifiedKeyError, match="COURSE_MODE=local"):
        mode.check_wandb_key("0" * 40)
    assert time.monotonic() - start < 10


def test_key_check_timeout_is_bounded() -> None:
    assert mode.KEY_CHECK_TIMEOUT_S < 10


def test_a_resolver_that_never_answers_is_inside_the_deadline(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """Before, urllib's timeout did not cover the name lookup: 10 s per nameserver."""
    release = threading.Event()

    def hung_lookup(*args: object, **kwargs: object) -> list:
        release.wait(60)  # a nameserver that never answers
        raise socket.gaierror("released by the test")

    clean_env.setenv("WANDB_BASE_URL", "https://api.wandb.invalid")
    clean_env.setattr(socket, "getaddrinfo", hung_lookup)
    start = time.monotonic()
    try:
        with pytest.raises(mode.UnverifiedKeyError, match="name lookup included"):
            mode.check_wandb_key("0" * 40, timeout=0.5)
        assert time.monotonic() - start < 2
    finally:
        release.set()


def test_banner_names_the_mode() -> None:
    local = mode.CourseMode("local", "no key found", openai=False)
    online = mode.CourseMode("online", "$WANDB_API_KEY", openai=True)
    assert "LOCAL mode" in mode.banner(local, "01-weave")
    assert "ONLINE mode" in mode.banner(online, "01-weave") and "OpenAI" in mode.banner(online, "x")
    assert "found: no keys" in mode.banner(local, "x")
