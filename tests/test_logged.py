"""Reading back what a run logged, through one helper for both modes; media as logged."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from utils.display import Audio, Html, overlay, show_table
from utils.logged import ApiRun, logged_run
from utils.wandb_offline import OfflineRun


def test_local_media_come_back_as_logged(wandb_env: Path) -> None:
    import wandb

    run = wandb.init(project="media")
    pixels = np.zeros((32, 32, 3), dtype=np.uint8)
    mask = np.zeros((32, 32), dtype=np.uint8)
    mask[20:30, 20:30] = 1
    box = {"position": {"minX": 2, "minY": 2, "maxX": 12, "maxY": 12}, "class_id": 2,
           "box_caption": "a square", "domain": "pixel"}  # fmt: skip
    image = wandb.Image(pixels, boxes={"objects": {"box_data": [box], "class_labels": {1: "m", 2: "sq"}}},
                        masks={"shapes": {"mask_data": mask, "class_labels": {0: "bg", 1: "m"}}})  # fmt: skip
    table = wandb.Table(columns=["image", "sound", "page"])
    table.add_data(image, wandb.Audio(np.zeros(1600, dtype=np.float32), sample_rate=16_000),
                   wandb.Html("<b>scene</b>"))  # fmt: skip
    run.log({"gallery": table})
    run.finish()

    back = logged_run(run)
    assert isinstance(back, OfflineRun) and back.complete
    row = back.table("gallery").iloc[0]
    drawn = np.asarray(row["image"])
    assert drawn[25, 25].any(), "the mask is tinted onto the image"
    assert drawn[2, 7].any(), "the box outline is drawn"
    assert not drawn[16, 16].any(), "pixels outside overlays stay as logged"
    assert isinstance(row["sound"], Audio) and row["sound"].data[:4] == b"RIFF"
    assert isinstance(row["page"], Html) and "<b>scene</b>" in row["page"].markup
    markup = show_table(back.table("gallery"))._repr_html_()
    assert "<audio controls" in markup and "<b>scene</b>" in markup and "data:image/png" in markup
    paths = back.table("gallery", images=False).iloc[0]
    assert all(isinstance(v, str) and Path(v).is_file() for v in paths)


def test_overlay_of_fractional_boxes() -> None:
    from PIL import Image

    base = Image.new("RGB", (40, 40))
    box = {"position": {"minX": 0.25, "minY": 0.25, "maxX": 0.75, "maxY": 0.75}, "class_id": 1}
    drawn = np.asarray(overlay(base, [box]))
    assert drawn[10, 20].any() and not drawn[20, 20].any()


# --- online: the same questions through wandb.Api, here against a stand-in Api run -----------
class _Art:
    def __init__(self, name: str, version: int, rows: list[str], kind: str = "run_table") -> None:
        self.name, self.version, self.type = f"{name}:v{version}", f"v{version}", kind
        self.aliases, self.digest, self.file_count, self.size, self.metadata = [], "d", 1, 10, {}
        self._rows = rows

    def get(self, key: str) -> Any:
        rows = self._rows
        return SimpleNamespace(get_dataframe=lambda: pd.DataFrame({"pred": rows}))


def _api_run() -> Any:
    ref = {"_type": "table-file", "path": "x.table.json"}
    history = [{"_step": 0, "loss": 1.0}, {"_step": 1, "loss": 0.5, "preds": ref},
               {"_step": 2, "loss": 0.2, "preds": ref}]  # fmt: skip
    return SimpleNamespace(
        id="abc", state="finished", config={"lr": 0.1, "_wandb": {}},
        summary={"loss": 0.2, "preds": ref, "_runtime": 3},
        scan_history=lambda: iter(history),
        logged_artifacts=lambda: [_Art("run-abc-preds", 1, ["late"]), _Art("run-abc-preds", 0, ["early"]),
                                  _Art("data", 0, [], kind="dataset")],
    )  # fmt: skip


def test_api_run_answers_like_an_offline_run() -> None:
    back = ApiRun(_api_run(), api=None)
    assert back.complete and back.config == {"lr": 0.1} and back.summary["loss"] == 0.2
    assert list(back.scalars()["loss"]) == [1.0, 0.5, 0.2]
    assert back.table_keys() == ["preds"] and back.table_versions("preds") == [1, 2]
    assert list(back.table("preds")["pred"]) == ["late"]
    assert list(back.table("preds", step=1)["pred"]) == ["early"]
    assert list(back.artifacts()["name"]) == ["data"]


def test_logged_run_goes_online_only_for_online_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    seen: list[str] = []

    class FakeApi:
        def run(self, path: str) -> Any:
            seen.append(path)
            return _api_run()

    monkeypatch.setattr(wandb, "Api", FakeApi)
    online = SimpleNamespace(
        entity="me", project="p", id="abc", settings=SimpleNamespace(_offline=False)
    )
    assert isinstance(logged_run(online), ApiRun) and seen == ["me/p/abc"]


def test_links_say_where_an_offline_run_lives(wandb_env: Path) -> None:
    import wandb

    from utils.links import describe

    run = wandb.init(project="links")
    text = describe(run=run)
    run.finish()
    assert "saved offline in" in text and "wandb sync" in text and str(wandb_env) not in text
