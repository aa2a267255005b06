"""The local store across processes, and proof that tracing locally never leaves the machine.

Both tests run real Python subprocesses (a served app or a worker writing to the same
`.course/weave/traces.sqlite` is the case being modelled); they cost a weave import each.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import weave

from utils.mode import RESOLVED_ENV
from utils.paths import REPO_ROOT
from utils.tracing.testing import local_client

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from utils.tracing.client import init_local

    path = Path(sys.argv[1])
    client = init_local("shared", path=path)
    import weave

    @weave.op
    def child_step(i: int) -> int:
        return i

    @weave.op
    def child_job(i: int) -> int:
        return child_step(i) + 1

    print("ready", flush=True)
    sys.stdin.readline()  # wait for "go" so both processes write at the same time
    for i in range(150):
        child_job(i)
        if i % 30 == 0:
            weave.publish({"writer": "child", "i": i}, name="shared-config")
    print("done", flush=True)  # no flush, no close: exiting must lose nothing

    """
)

NO_NETWORK = textwrap.dedent(
    """
    import sys

    LOG = open(sys.argv[1], "w", buffering=1)
    LOCAL = {"127.0.0.1", "::1", "localhost", "0.0.0.0", ""}

    def host_of(event, args):
        if event == "socket.connect":
            address = args[1]
            return address[0] if isinstance(address, tuple) else None  # AF_UNIX is local
        if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
            return args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        return None

    def audit(event, args):
        if event.startswith("socket."):
            host = host_of(event, args)
            if host is not None:
                local = host in LOCAL or host.startswith("127.")
                LOG.write(f"{'local' if local else 'OUTSIDE'} {event} {host}\\n")

    sys.addaudithook(audit)  # before weave (or anything else) is imported

    import socket

    # Prove the hook sees connections: one deliberate loopback connect must be logged.
    listener = socket.create_server(("127.0.0.1", 0))
    socket.create_connection(listener.getsockname()).close()
    listener.close()

    import asyncio
    from utils import tracing
    from utils.mode import resolved

    assert resolved() == "local"
    client = tracing.init("no-network")
    import weave

    @weave.op
    def answer(question: str) -> dict:
        return {"model": "m", "usage": {"prompt_tokens": 3, "completion_tokens": 1}, "a": 42}

    @weave.op
    def correct(output: dict) -> bool:
        return output["a"] == 42

    _, call = answer.call("why?")
    call.feedback.add_reaction("👍")
    weave.publish(weave.Dataset(name="d", rows=[{"question": "q"}]))
    asyncio.run(weave.Evaluation(dataset=[{"question": "q"}], scorers=[correct]).evaluate(answer))
    client.add_cost(llm_id="m", prompt_token_cost=1, completion_token_cost=1)
    client.flush()
    print(len(client.get_calls(include_costs=True)), "calls", flush=True)
    """
)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["COURSE_HOME"] = str(tmp_path / "course")
    env[RESOLVED_ENV] = "local"
    return env


def test_two_processes_share_one_store(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    store = tmp_path / "traces.sqlite"
    child = subprocess.Popen(
        [sys.executable, str(script), str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready", (
            child.stderr.read() if child.stderr else ""
        )
        with local_client(tmp_path, project="shared") as client:

            @weave.op
            def parent_job(i: int) -> int:
                return i * 2

            child.stdin.write("go\n")
            child.stdin.flush()
            for i in range(150):
                parent_job(i)
                if i % 30 == 0:
                    weave.publish({"writer": "parent", "i": i}, name="shared-config")
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0 and "done" in out, err[-3000:]
            client.flush()
            calls = list(client.get_calls())
            ops = [c.op_name.split("/")[-1].split(":")[0] for c in calls]
            assert ops.count("parent_job") == 150
            assert ops.count("child_job") == 150 and ops.count("child_step") == 150
            assert all(c.started_at and c.ended_at for c in calls)
            versions = client._objects(filter={"object_ids": ["shared-config"]})
            writers = sorted(v.val["writer"] for v in versions)
            assert writers == ["child"] * 5 + ["parent"] * 5
            indexes = sorted(v.version_index for v in versions)
            assert indexes == list(range(10))  # no version number handed out twice
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_local_tracing_opens_no_outside_connection(tmp_path: Path) -> None:
    script = tmp_path / "scenario.py"
    script.write_text(NO_NETWORK)
    log = tmp_path / "outside.log"
    proc = subprocess.run(
        [sys.executable, str(script), str(log)],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "calls" in proc.stdout and int(proc.stdout.split()[0]) >= 5
    lines = log.read_text().splitlines()
    assert "local socket.connect 127.0.0.1" in lines  # the hook works
    assert [line for line in lines if line.startswith("OUTSIDE")] == []
