"""Reading offline runs back: history, summary, config, tables (with images), artifacts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from utils.wandb_offline import OfflineRun, offline_runs


def test_round_trip(wandb_env: Path) -> None:
    import wandb

    run = wandb.init(project="readback", config={"lr": 0.01, "model": {"width": 32}})
    for step in range(6):
        run.log({"loss": 1 / (step + 1), "acc": step / 6})
    for epoch in range(2):
        table = wandb.Table(columns=["id", "image", "pred"])
        for i in range(3):
            pixels = np.full((8, 8, 3), 40 * i + epoch, dtype=np.uint8)
            table.add_data(i, wandb.Image(pixels), f"e{epoch}-{i}")
        run.log({"predictions": table})
    run.summary["best_acc"] = 0.75
    data = wandb_env / "payload.txt"
    data.write_text("hello")
    art = wandb.Artifact("toy", type="dataset", metadata={"rows": 1})
    art.add_file(str(data))
    run.log_artifact(art, aliases=["baseline"])
    run.finish()

    back = OfflineRun.load(run)
    assert back.complete
    assert back.config == {"lr": 0.01, "model": {"width": 32}}
    assert back.summary["best_acc"] == 0.75
    scalars = back.scalars()
    assert list(scalars["loss"].dropna().round(4)) == [round(1 / (s + 1), 4) for s in range(6)]
    assert back.table_keys() == ["predictions"]
    steps = back.table_versions("predictions")
    assert len(steps) == 2
    first, last = back.table("predictions", step=steps[0]), back.table("predictions")
    assert list(last["pred"]) == ["e1-0", "e1-1", "e1-2"]
    assert list(first["pred"]) == ["e0-0", "e0-1", "e0-2"]
    assert last["image"][2].getpixel((0, 0)) == (
        81,
        81,
        81,
    )  # the pixels we logged, not a class name
    arts = back.artifacts()
    assert list(arts["name"]) == ["toy"] and arts["aliases"][0] == ["baseline"]
    assert arts["metadata"][0] == {"rows": 1}
    manifest = back.manifest("toy")
    assert list(manifest["path"]) == ["payload.txt"] and manifest["size"][0] == 5
    assert offline_runs(wandb_env / "wandb")[-1] == back.path


def test_unfinished_run_is_reported_incomplete(wandb_env: Path) -> None:
    import wandb

    run = wandb.init(project="readback")
    run.log({"x": 1})
    try:
        early = OfflineRun.load(Path(run.dir).parent, wait_s=0.5)
        assert not early.complete
    finally:
        run.finish()
    assert OfflineRun.load(run).complete


def test_missing_table_key_is_a_clear_error(wandb_env: Path) -> None:
    import wandb

    run = wandb.init(project="readback")
    run.log({"x": 1})
    run.finish()
    with pytest.raises(KeyError, match="no table logged"):
        OfflineRun.load(run).table("nope")
    assert os.environ["WANDB_MODE"] == "offline"
