"""What does the local SQLite trace store cost on top of the weave client itself?

    python benchmarks/bench_tracing.py [--calls 1000] [--population 10000] [--runs 3]

Measures, in one process, through the real `WeaveClient`:
- per traced call: N calls of a tiny op plus `client.flush()`, on the store versus on a
  no-op server that answers every request instantly (the client alone). The difference is
  what the store adds (goal: <= 0.2 ms per call);
- flushing 1,000 calls: the store committing 1,000 buffered starts and ends (goal < 0.2 s), and
  the client's `flush()` right after 1,000 calls for both servers;
- `get_calls` over a 10,000-call project with a filter (goal < 0.5 s): by op (indexed),
  by a `$expr` on inputs (JSON scan), roots only, and a paged count.

Figures are medians of `--runs` repeats. The machine's other work skews them: with 2 cores,
run on an idle machine and compare ratios rather than absolute times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from utils.tracing import quiet

quiet.silence(local=True)

import weave  # noqa: E402
from weave.trace.context import weave_client_context  # noqa: E402
from weave.trace.serialization.digest import (  # noqa: E402
    compute_file_digest,
    compute_object_digest,
)
from weave.trace.weave_client import WeaveClient  # noqa: E402
from weave.trace_server_bindings.models import EnsureProjectExistsRes  # noqa: E402
from weave.vendor.weave_server_sdk.types import (  # noqa: E402
    CallStartResponse,
    FileCreateResponse,
    ObjectCreateResponse,
    ServerInfoRes,
)

from utils.tracing.store.server import LocalTraceServer  # noqa: E402

quiet.disable_sentry()


class NullServer:
    """The protocol subset a traced op needs, answered instantly: the client-only baseline."""

    def server_info(self) -> ServerInfoRes:
        return ServerInfoRes(min_required_weave_python_version="0", trace_server_version="null")

    def ensure_project_exists(self, entity: str, project: str) -> EnsureProjectExistsRes:
        return EnsureProjectExistsRes(project_name=project)

    def obj_create(self, req: Any) -> ObjectCreateResponse:
        obj = req["obj"]
        return ObjectCreateResponse(
            digest=compute_object_digest(obj["val"]), object_id=obj["object_id"]
        )

    def file_create(self, req: Any) -> FileCreateResponse:
        return FileCreateResponse(digest=compute_file_digest(req["file"][1]))

    def call_start(self, req: Any) -> CallStartResponse:
        start = req["start"]
        return CallStartResponse(id=start["id"], trace_id=start["trace_id"])

    def call_end(self, req: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


@weave.op
def tiny(x: int, text: str) -> dict:
    return {"y": x + 1, "echo": text}


def use(client: WeaveClient) -> WeaveClient:
    weave_client_context.set_weave_client_global(None)
    weave_client_context.set_weave_client_global(client)
    return client


def traced_calls(client: WeaveClient, n: int) -> tuple[float, float, float]:
    """(wall s for n traced calls + flush, process CPU s for the same, wall s of the flush)."""
    use(client)
    tiny(-1, "warm-up")  # saves the op once, outside the timing
    client.flush()
    w0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        tiny(i, "some input text")
    w1 = time.perf_counter()
    client.flush()
    w2 = time.perf_counter()
    return w2 - w0, time.process_time() - c0, w2 - w1


def median(fn: Callable[[], float], runs: int) -> float:
    return statistics.median(fn() for _ in range(runs))


def request_pair(project_id: str, op: str, i: int, parent: str | None) -> tuple[dict, dict]:
    """A call_start/call_end pair shaped like the client's (used to fill stores fast)."""
    import datetime as dt

    call_id, now = str(uuid.uuid4()), dt.datetime.now(dt.UTC)
    start = {
        "start": {
            "project_id": project_id,
            "id": call_id,
            "op_name": op,
            "trace_id": parent or call_id,
            "parent_id": parent,
            "started_at": now,
            "attributes": {"weave": {"client_version": weave.__version__}},
            "inputs": {"x": i, "text": "some input text"},
        }
    }
    end = {
        "end": {
            "project_id": project_id,
            "id": call_id,
            "ended_at": now + dt.timedelta(milliseconds=3),
            "output": {"y": i + 1},
            "summary": {"status_counts": {"success": 1, "error": 0}},
        }
    }
    return start, end


def bench_commit(path: Path, n: int) -> float:
    """Seconds for the store to commit n buffered calls (starts and ends)."""
    server = LocalTraceServer(path, batch_delay_s=3600)  # no background flush during the fill
    for i in range(n):
        start, end = request_pair("bench/commit", "weave:///bench/commit/op/tiny:abc", i, None)
        server.call_start(start)
        server.call_end(end)
    t0 = time.perf_counter()
    server.flush()
    elapsed = time.perf_counter() - t0
    server.close()
    return elapsed


def fill(server: LocalTraceServer, project_id: str, population: int, ops: int) -> list[str]:
    """`population` calls over `ops` ops, a tenth of them roots with 9 children each."""
    names = [f"weave:///{project_id}/op/op_{k}:digest{k}" for k in range(ops)]
    root = None
    for i in range(population):
        parent = None if i % 10 == 0 else root
        start, end = request_pair(project_id, names[i % ops], i, parent)
        if parent is None:
            root = start["start"]["id"]
        server.call_start(start)
        server.call_end(end)
    server.flush()
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--population", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("WEAVE_PRINT_CALL_LINK", "false")
    work = Path(tempfile.mkdtemp(prefix="bench-tracing-"))
    rows: list[tuple[str, str, str, str, str]] = []

    # -- per traced call: store vs the client alone
    store = LocalTraceServer(work / "calls.sqlite")
    on_store = WeaveClient("bench", "calls", store, ensure_project_exists=False)
    on_null = WeaveClient("bench", "null", NullServer(), ensure_project_exists=False)  # type: ignore[arg-type]
    n = args.calls
    store_runs, null_runs = [], []
    for _ in range(args.runs):  # interleaved, so drift in machine load hits both alike
        store_runs.append(traced_calls(on_store, n))
        null_runs.append(traced_calls(on_null, n))

    def per_call_ms(runs: list[tuple[float, float, float]], k: int) -> float:
        return statistics.median(r[k] for r in runs) / n * 1000

    for k, what in ((0, "wall"), (1, "CPU, all threads")):
        s_ms, z_ms = per_call_ms(store_runs, k), per_call_ms(null_runs, k)
        added = s_ms - z_ms
        verdict = "OK" if added <= 0.2 else "MISSED"
        rows.append(
            (
                f"traced call + flush, {what} (ms/call)",
                f"{s_ms:.3f}",
                f"{z_ms:.3f}",
                f"{s_ms / z_ms:.2f}x",
                f"+{added:.3f} ms (goal <= 0.2) {verdict}",
            )
        )
    s_flush = statistics.median(r[2] for r in store_runs)
    z_flush = statistics.median(r[2] for r in null_runs)
    rows.append(
        (f"client.flush() after {n} calls (s)", f"{s_flush:.3f}", f"{z_flush:.3f}", "-", "")
    )

    # -- the store committing 1,000 calls
    commit = median(
        lambda: bench_commit(work / f"commit-{uuid.uuid4().hex}.sqlite", 1000), args.runs
    )
    rows.append(
        (
            "store commit of 1,000 calls (s)",
            f"{commit:.3f}",
            "-",
            "-",
            f"goal < 0.2 {'OK' if commit < 0.2 else 'MISSED'}",
        )
    )

    # -- get_calls over a 10,000-call project
    big = LocalTraceServer(work / "big.sqlite")
    t0 = time.perf_counter()
    names = fill(big, "bench/big", args.population, ops=10)
    fill_s = time.perf_counter() - t0
    reader = use(WeaveClient("bench", "big", big, ensure_project_exists=False))
    n_pop = args.population
    queries: list[tuple[str, dict[str, Any], int]] = [
        ("op filter (1 of 10 ops)", {"filter": {"op_names": [names[3]]}}, n_pop // 10),
        (
            "op wildcard filter",
            {"filter": {"op_names": [names[3].rsplit(":", 1)[0] + ":*"]}},
            n_pop // 10,
        ),
        (
            "$expr on inputs.x (JSON scan)",
            {
                "query": {
                    "$expr": {
                        "$gte": [{"$getField": "inputs.x"}, {"$literal": n_pop - n_pop // 10}]
                    }
                }
            },
            n_pop // 10,
        ),
        ("trace roots only", {"filter": {"trace_roots_only": True}}, n_pop // 10),
        (
            "$expr, sorted desc, limit 100",
            {
                "query": {
                    "$expr": {
                        "$eq": [{"$getField": "summary.weave.status"}, {"$literal": "success"}]
                    }
                },
                "sort_by": [{"field": "inputs.x", "direction": "desc"}],
                "limit": 100,
            },
            100,
        ),
    ]
    for label, kwargs, expected in queries:

        def run_query(
            kwargs: dict[str, Any] = kwargs, expected: int = expected, label: str = label
        ) -> float:
            t = time.perf_counter()
            got = list(reader.get_calls(**kwargs))
            elapsed = time.perf_counter() - t
            assert len(got) == expected, (label, len(got), expected)
            return elapsed

        secs = median(run_query, args.runs)
        rows.append(
            (
                f"get_calls: {label} -> {expected} (s)",
                f"{secs:.3f}",
                "-",
                "-",
                f"goal < 0.5 {'OK' if secs < 0.5 else 'MISSED'}",
            )
        )
    count_s = median(
        lambda: (lambda t: (len(reader.get_calls()), time.perf_counter() - t)[1])(
            time.perf_counter()
        ),
        args.runs,
    )
    rows.append((f"len(get_calls()) over {n_pop} (s)", f"{count_s:.3f}", "-", "-", ""))

    width = max(len(r[0]) for r in rows)
    print(
        f"weave {weave.__version__}, {os.cpu_count()} cores, median of {args.runs} runs; filled {n_pop} calls in {fill_s:.1f} s"
    )
    print(f"{'metric':<{width}}  {'store':>9}  {'no-op':>9}  {'ratio':>7}  goal")
    for metric, s, z, ratio, goal in rows:
        print(f"{metric:<{width}}  {s:>9}  {z:>9}  {ratio:>7}  {goal}")
    for server in (store, big):
        server.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
