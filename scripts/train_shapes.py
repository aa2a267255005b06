"""Train the ShapesVQA checkpoints that the course ships in data/shapes/checkpoints/.

    python scripts/train_shapes.py                      # both models, full profile
    python scripts/train_shapes.py --models vqa --profile fast --out /tmp/ckpt

Deterministic: fixed data seeds (train and test split of universe 0) and fixed torch seeds, so a
rerun with the same library versions and thread count reproduces the same weights. Writes the
checkpoint files and updates MANIFEST.json (digest, size, training settings, wall time, test
metrics, and a fingerprint of the generated data) so loaders can verify what they load.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from utils import profiles
from utils.shapes import checkpoints as ck
from utils.shapes.dataset import fingerprint, make_dataset
from utils.shapes.train import (
    PROFILES,
    TrainResult,
    evaluate_captioner,
    evaluate_vqa,
    train_captioner,
    train_vqa,
)

DATA_SEED = 0
FINGERPRINT_N = 200  # records hashed into the manifest's data fingerprint


def _round(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _round(v) if isinstance(v, dict) else round(v, 4) for k, v in d.items()}


def train_one(
    kind: str, profile: profiles.Profile, seed: int, out: Path, progress: bool
) -> dict[str, Any]:
    """Generate data, train, evaluate on the test split, save; return the manifest entry."""
    p = PROFILES[kind][profile]
    t0 = time.perf_counter()
    train = make_dataset(p.n_train, "train", DATA_SEED)
    test = make_dataset(p.n_test, "test", DATA_SEED)
    data_s = time.perf_counter() - t0
    print(f"[{kind}] data: {p.n_train} train + {p.n_test} test images in {data_s:.1f}s", flush=True)
    res: TrainResult[Any]
    if kind == "vqa":
        vqa = train_vqa(
            train, steps=p.steps, batch_size=p.batch_size, lr=p.lr, seed=seed, progress=progress
        )
        metrics: dict[str, Any] = evaluate_vqa(vqa.model, test)
        metrics["budget_accuracy"] = {
            str(k): evaluate_vqa(vqa.model, test, patch_budget=k)["accuracy"] for k in (4, 8, 16)
        }
        res = vqa
    else:
        cap = train_captioner(
            train, steps=p.steps, batch_size=p.batch_size, lr=p.lr, seed=seed, progress=progress
        )
        metrics = dict(evaluate_captioner(cap.model, test))
        res = cap
    n_questions = metrics.pop("n_questions", None)
    print(f"[{kind}] trained {p.steps} steps in {res.seconds:.1f}s; test: {_round(metrics)}")
    entry = ck.save_checkpoint(res.model, out / ck.FILES[kind], kind)
    entry.update(
        {
            "profile": profile,
            "training": {
                "steps": p.steps,
                "batch_size": p.batch_size,
                "lr": p.lr,
                "seed": seed,
                "data_seed": DATA_SEED,
                "n_train": p.n_train,
                "train_seconds": round(res.seconds, 1),
                "data_seconds": round(data_s, 1),
                "threads": torch.get_num_threads(),
                "final_train_loss": round(res.history[-1][f"{kind}/loss"], 4),
            },
            "test": {"n_images": p.n_test, **_round(metrics)},
        }
    )
    if n_questions is not None:
        entry["test"]["n_questions"] = n_questions
    print(f"[{kind}] saved {entry['file']} ({entry['bytes'] / 1e6:.2f} MB) {entry['sha256'][:12]}")
    return entry


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--profile", choices=profiles.NAMES, default=profiles.DEFAULT)
    ap.add_argument("--models", nargs="+", choices=tuple(ck.FILES), default=list(ck.FILES))
    ap.add_argument("--out", type=Path, default=ck.CHECKPOINT_DIR)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1 is fastest on a busy 2-core machine: spinning threads contend)",
    )
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = ck.read_manifest(args.out)
    manifest.setdefault("models", {})
    for kind in args.models:
        manifest["models"][kind] = train_one(
            kind, args.profile, args.seed, args.out, not args.no_progress
        )
    manifest["format"] = ck.FORMAT
    manifest["generated_by"] = "scripts/train_shapes.py"
    manifest["data_fingerprint"] = {
        "records": f'make_dataset({FINGERPRINT_N}, "train", seed={DATA_SEED})',
        "sha256": fingerprint(make_dataset(FINGERPRINT_N, "train", DATA_SEED)),
    }
    manifest["environment"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
    }
    path = ck.write_manifest(manifest, args.out)
    print(f"manifest: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
