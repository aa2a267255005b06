"""Read an offline wandb run back into pandas, with no server.

In local mode nothing is uploaded, so "look at it in the UI" needs a local equivalent. wandb 0.31
writes every run to a transaction log (`run-<id>.wandb`); its own bundled tool decodes it:
`wandb leet inspect --json <run dir>` prints one JSON record per line (run/config, history,
summary, artifact manifests, exit). We rely on that official decoder rather than on the
protobuf framing, so a format change in wandb is wandb's problem, not ours.

Two pitfalls handled here:
- `run.finish()` can return before wandb-core has flushed the log; we poll for the `exit`
  record (bounded) instead of reading a truncated file.
- Tables live twice: a preview JSON under `files/media/table/` whose media cells are only class
  names, and the full table in the staged `run_table` artifact; we read the latter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

CLIENT_ARTIFACT = "wandb-client-artifact://"


def wandb_root() -> Path:
    """The folder holding `offline-run-*` dirs (wandb puts them in `$WANDB_DIR/wandb`)."""
    return Path(os.environ.get("WANDB_DIR", ".")) / "wandb"


def run_dir_of(run: Any) -> Path:
    """The run folder of a live or finished `wandb.Run` (its `dir` is `<run folder>/files`)."""
    return Path(run.dir).parent


def offline_runs(root: Path | None = None) -> list[Path]:
    """Offline run folders, oldest first."""
    base = root or wandb_root()
    return sorted(base.glob("offline-run-*"), key=lambda p: p.name)


def _inspect(run_dir: Path) -> list[dict[str, Any]]:
    cmd = [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(run_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if out.returncode != 0 and not out.stdout:
        raise RuntimeError(f"wandb leet inspect failed: {out.stderr.strip()[:300]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def read_records(run_dir: Path, wait_s: float = 15.0) -> tuple[list[dict[str, Any]], bool]:
    """Decoded records of a run and whether the run is complete (an `exit` record was seen)."""
    deadline = time.monotonic() + wait_s
    while True:
        records = _inspect(run_dir)
        if records and records[-1].get("type") == "exit":
            return records, True
        if time.monotonic() >= deadline:
            return records, False
        time.sleep(0.2)


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """`{"preds._type": ..., "preds.path": ...}` -> `{"preds": {"_type": ..., "path": ...}}`."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):  # a scalar and a nested key share a prefix: keep both
                nxt = node[p] = {"_value": nxt}
            node = nxt
        node[parts[-1]] = value
    return out


def is_table_ref(value: Any) -> bool:
    """A summary/history value that points at a logged table (any table kind)."""
    return isinstance(value, dict) and "table" in str(value.get("_type", ""))


def numeric_metrics(history: pd.DataFrame) -> pd.DataFrame:
    """History restricted to numeric metrics (what a line plot would show)."""
    hist = history.drop(columns=[c for c in history if str(c).startswith("_")])
    return hist.apply(pd.to_numeric, errors="coerce").dropna(axis=1, how="all")


def table_keys_of(summary: dict[str, Any], history: pd.DataFrame) -> list[str]:
    """Keys under which tables were logged, from the summary and every history step."""
    keys = {k for k, v in summary.items() if is_table_ref(v)}
    for column in history.columns:
        if any(is_table_ref(v) for v in history[column].dropna()):
            keys.add(column)
    return sorted(keys)


def table_steps(history: pd.DataFrame, key: str) -> list[int]:
    """Steps at which `key` was logged as a table."""
    if key not in history:
        return []
    return [int(step) for step, v in history[key].items() if is_table_ref(v)]


@dataclass
class OfflineRun:
    """One offline run, decoded. Build it with `OfflineRun.load(run_or_dir)`."""

    path: Path
    records: list[dict[str, Any]]
    complete: bool
    _by_client_id: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, run_or_dir: Any = None, wait_s: float = 15.0) -> OfflineRun:
        """From a `wandb.Run`, a run folder, or (None) the latest offline run."""
        if run_or_dir is None:
            runs = offline_runs()
            if not runs:
                raise FileNotFoundError(f"no offline runs under {wandb_root()}")
            path = runs[-1]
        elif isinstance(run_or_dir, str | os.PathLike):
            path = Path(run_or_dir)
        else:
            path = run_dir_of(run_or_dir)
        records, complete = read_records(path, wait_s)
        run = cls(path, records, complete)
        for art in run._of_type("artifact"):
            run._by_client_id[art["client_id"]] = art
        return run

    def _of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r[kind] for r in self.records if r.get("type") == kind]

    @property
    def id(self) -> str:
        return str(self._of_type("run")[0]["run_id"])

    @property
    def project(self) -> str:
        return str(self._of_type("run")[0].get("project", ""))

    @cached_property
    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {}
        for rec in self._of_type("run") + self._of_type("config"):
            cfg.update((rec.get("config") or rec).get("update", {}))
        cfg.pop("_wandb", None)
        return cfg

    @cached_property
    def summary(self) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        for rec in self._of_type("summary"):
            flat.update(rec.get("update", {}))
            for key in rec.get("remove", {}) or {}:
                flat.pop(key, None)
        return {k: v for k, v in _unflatten(flat).items() if not k.startswith("_")}

    @cached_property
    def history(self) -> pd.DataFrame:
        """One row per `run.log` step; table/media columns hold their reference dicts."""
        rows = [_unflatten(rec.get("item", {})) for rec in self._of_type("history")]
        frame = pd.DataFrame(rows)
        if "_step" in frame:
            frame = frame.set_index("_step")
        return frame

    def scalars(self) -> pd.DataFrame:
        """History restricted to numeric metrics (what a line plot would show)."""
        return numeric_metrics(self.history)

    # --- tables ----------------------------------------------------------------------------
    def table_keys(self) -> list[str]:
        """Keys under which tables were logged."""
        return table_keys_of(self.summary, self.history)

    def table_versions(self, key: str) -> list[int]:
        """Steps at which `key` was logged as a table."""
        return table_steps(self.history, key)

    def table(self, key: str, step: int | None = None, images: bool = True) -> pd.DataFrame:
        """The full logged table (latest, or the one logged at `step`) as a DataFrame.

        Image cells become PIL images (so a DataFrame preview can render them) unless
        `images=False`, in which case they stay as their file paths.
        """
        ref = self.summary.get(key) if step is None else self.history.loc[step, key]
        if not isinstance(ref, dict) or "artifact_path" not in ref:
            raise KeyError(f"no table logged under {key!r}" + (f" at step {step}" if step else ""))
        files = self._artifact_files(ref["artifact_path"])
        table_file = ref["artifact_path"].rsplit("/", 1)[-1]
        payload = json.loads(Path(files[table_file]).read_text())
        data = [[self._cell(v, files, images) for v in row] for row in payload["data"]]
        return pd.DataFrame(data, columns=payload["columns"])

    def _artifact_files(self, artifact_path: str) -> dict[str, str]:
        client_id = artifact_path.removeprefix(CLIENT_ARTIFACT).split("/", 1)[0].split(":")[0]
        art = self._by_client_id.get(client_id)
        if art is None:
            raise KeyError(f"artifact {client_id[:12]}… not in this run's records")
        return {e["path"]: e["local_path"] for e in art["manifest"]["contents"]}

    @staticmethod
    def _cell(value: Any, files: dict[str, str], images: bool) -> Any:
        """A logged cell as a learner should see it: media files become images (with their
        boxes and masks drawn on), audio players and rendered HTML; `images=False` keeps
        the files' paths instead."""
        if not isinstance(value, dict) or value.get("path") not in files:
            return value
        kind, path = value.get("_type"), files[value["path"]]
        if not images and kind in ("image-file", "audio-file", "html-file"):
            return path
        if kind == "image-file":
            return _image_with_overlays(value, files)
        if kind == "audio-file":
            from utils.display import Audio

            return Audio(Path(path).read_bytes(), Path(value["path"]).name)
        if kind == "html-file":
            from utils.display import Html

            return Html(Path(path).read_text())
        return value

    # --- artifacts -------------------------------------------------------------------------
    def artifacts(self, include_tables: bool = False) -> pd.DataFrame:
        """Artifacts this run logged: name, type, aliases, digest, file count, bytes."""
        rows = []
        for art in self._of_type("artifact"):
            if art["type"] == "run_table" and not include_tables:
                continue
            contents = art["manifest"]["contents"]
            rows.append(
                {
                    "name": art["name"],
                    "type": art["type"],
                    "aliases": [a for a in art.get("aliases", []) if a != "latest"] or ["latest"],
                    "digest": art["digest"],
                    "files": len(contents),
                    "bytes": sum(int(e.get("size", 0)) for e in contents),
                    "metadata": json.loads(art["metadata"]) if art.get("metadata") else {},
                }
            )
        return pd.DataFrame(rows)

    def manifest(self, name: str) -> pd.DataFrame:
        """The file manifest of an artifact logged by this run (latest record of that name)."""
        arts = [a for a in self._of_type("artifact") if a["name"] == name]
        if not arts:
            raise KeyError(f"artifact {name!r} not logged by run {self.id}")
        contents = arts[-1]["manifest"]["contents"]
        frame = pd.DataFrame(contents)
        keep = [c for c in ("path", "digest", "size", "ref") if c in frame]
        return (
            frame[keep].assign(size=lambda f: f["size"].astype(int))
            if "size" in keep
            else frame[keep]
        )


def _image_with_overlays(cell: dict[str, Any], files: dict[str, str]) -> Any:
    """The logged image, with every logged box set and mask drawn as the media panel would."""
    from PIL import Image

    from utils.display import overlay

    with Image.open(files[cell["path"]]) as im:
        image = im.copy()
    if not cell.get("boxes") and not cell.get("masks"):
        return image
    names: dict[int, str] = {}
    classes = cell.get("classes") or {}
    if classes.get("path") in files:
        payload = json.loads(Path(files[classes["path"]]).read_text())
        names = {int(c["id"]): str(c["name"]) for c in payload.get("class_set", [])}
    boxes = [box for group in (cell.get("boxes") or {}).values() for box in group]
    mask = None
    for group in (cell.get("masks") or {}).values():
        if group.get("path") in files:
            with Image.open(files[group["path"]]) as m:
                mask = m.copy()
    return overlay(image, boxes, mask, names)
