"""A typical local-mode session, run under strace by test_no_network.py.

Touches what a chapter touches: mode setup, a wandb offline run with a table, media and an
artifact, reading the run back, and the local Weave store when it is available.
"""

from __future__ import annotations

import numpy as np

from utils import course

ctx = course.setup("no-network-scenario", "fast")

import wandb  # noqa: E402

from utils.wandb_offline import OfflineRun  # noqa: E402

run = wandb.init(project=ctx.project(), config={"k": 1})
table = wandb.Table(columns=["i", "image"])
table.add_data(0, wandb.Image(np.zeros((8, 8, 3), dtype=np.uint8)))
run.log({"loss": 0.5, "table": table})
art = wandb.Artifact("scenario-data", type="dataset")
with art.new_file("rows.txt") as f:
    f.write("1\n2\n")
run.log_artifact(art)
run.finish()
assert OfflineRun.load(run).complete

try:
    from utils import tracing
except ImportError:  # the store is optional in this scenario until it exists
    tracing = None  # type: ignore[assignment]

if tracing is not None:
    import weave

    client = tracing.init(ctx.project())

    @weave.op
    def add(a: int, b: int) -> int:
        return a + b

    add(1, 2)
    client.flush()
    assert len(list(client.get_calls())) >= 1
print("scenario done")
