"""Local mode opens no socket to anything but this machine.

Python audit hooks would miss wandb-core (a Go process), so the scenario runs under
`strace -f`, which sees every connect() of every process it starts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from utils.paths import REPO_ROOT

SCENARIO = Path(__file__).parent / "scenarios" / "local_mode_scenario.py"
CONNECT = re.compile(
    r"connect\(\d+, \{sa_family=(AF_INET6?),.*?(?:inet_addr\(\"([^\"]+)\"\)|inet_pton\(AF_INET6, \"([^\"]+)\")"
)


def outside_connects(trace: str) -> list[str]:
    """Addresses of connect() calls that leave the machine (loopback is fine)."""
    found = []
    for m in CONNECT.finditer(trace):
        addr = m.group(2) or m.group(3)
        if not (addr.startswith("127.") or addr in ("::1", "::ffff:127.0.0.1")):
            found.append(addr)
    return found


def test_parser_flags_outside_and_ignores_loopback() -> None:
    trace = (
        '123 connect(5, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.2")}, 16) = 0\n'
        '123 connect(6, {sa_family=AF_INET, sin_port=htons(8765), sin_addr=inet_addr("127.0.0.1")}, 16) = 0\n'
        "124 connect(7, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), "
        'inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1\n'
        '125 connect(8, {sa_family=AF_UNIX, sun_path="/tmp/x.sock"}, 110) = 0\n'
    )
    assert outside_connects(trace) == ["10.0.0.2", "2001:db8::1"]


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace missing: make setup installs it")
def test_local_mode_scenario_opens_no_outside_socket(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("COURSE_MODE", None)
    env["COURSE_HOME"] = str(tmp_path / "course")
    env["PYTHONPATH"] = str(REPO_ROOT)
    log = tmp_path / "strace.log"
    proc = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(log), sys.executable, str(SCENARIO)],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "scenario done" in proc.stdout
    trace = log.read_text()
    assert "connect(" in trace, "strace saw no connect at all: the trace is not working"
    assert outside_connects(trace) == []
