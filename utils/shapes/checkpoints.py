"""Pretrained ShapesVQA checkpoints: saved with their config, loaded only if the digest matches.

A checkpoint is one `torch.save` file holding `{"format", "kind", "config", "state_dict"}`:
the config carries the vocabularies, so loading never depends on today's constants. Its
SHA-256 is recorded in `MANIFEST.json` next to it, together with how it was trained and what it
scored. Loaders read the bytes once, hash them, refuse a mismatch, and only then deserialise
(with `weights_only=True`, so a checkpoint can carry tensors and plain data but never code).
That is the same "reproducible by digest" discipline the Artifacts chapter teaches.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

from utils.paths import DATA_DIR
from utils.shapes.captioner import CaptionerConfig, ShapesCaptioner
from utils.shapes.vqa_model import ShapesVQA, VQAConfig

CHECKPOINT_DIR = DATA_DIR / "shapes" / "checkpoints"
MANIFEST_NAME = "MANIFEST.json"
FILES: dict[str, str] = {"vqa": "shapes_vqa.pt", "captioner": "shapes_captioner.pt"}
FORMAT = 1


class ChecksumError(RuntimeError):
    """A checkpoint's bytes do not match the digest it is supposed to have."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str) -> str:
    return sha256_bytes(Path(path).read_bytes())


def save_checkpoint(
    model: ShapesVQA | ShapesCaptioner, path: Path | str, kind: str
) -> dict[str, Any]:
    """Write a checkpoint and return its manifest facts (file, sha256, bytes, params).

    Serialised to memory first, so the digest is of exactly the bytes written.
    """
    payload = {
        "format": FORMAT,
        "kind": kind,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    data = buf.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {
        "file": path.name,
        "sha256": sha256_bytes(data),
        "bytes": len(data),
        "params": sum(p.numel() for p in model.parameters()),
    }


def read_manifest(directory: Path | str = CHECKPOINT_DIR) -> dict[str, Any]:
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return {"format": FORMAT, "models": {}}
    return json.loads(path.read_text())


def write_manifest(manifest: dict[str, Any], directory: Path | str = CHECKPOINT_DIR) -> Path:
    path = Path(directory) / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def load_checkpoint(path: Path | str, sha256: str) -> dict[str, Any]:
    """Verify a checkpoint's digest, then deserialise it (weights only, no pickled code)."""
    path = Path(path)
    data = path.read_bytes()
    actual = sha256_bytes(data)
    if actual != sha256:
        raise ChecksumError(
            f"{path.name}: SHA-256 is {actual[:16]}..., expected {sha256[:16]}... "
            "The file was modified or is not the one the manifest describes; refusing to load it. "
            "Restore it (git checkout) or retrain with scripts/train_shapes.py."
        )
    payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{path.name}: unsupported checkpoint format {payload.get('format')!r}")
    return payload


def _resolve(
    kind: str, path: Path | str | None, sha256: str | None, directory: Path | str
) -> tuple[Path, str]:
    if path is not None and sha256 is not None:
        return Path(path), sha256
    entry = read_manifest(directory).get("models", {}).get(kind)
    if entry is None:
        raise FileNotFoundError(
            f"no '{kind}' entry in {Path(directory) / MANIFEST_NAME}; "
            "run `python scripts/train_shapes.py` to create the checkpoints"
        )
    resolved = Path(path) if path is not None else Path(directory) / entry["file"]
    return resolved, sha256 or entry["sha256"]


# What each kind of checkpoint rebuilds: the model class and its config class.
KINDS: dict[str, tuple[type[ShapesVQA] | type[ShapesCaptioner], Any]] = {
    "vqa": (ShapesVQA, VQAConfig),
    "captioner": (ShapesCaptioner, CaptionerConfig),
}


def load_model(
    kind: str,
    path: Path | str | None = None,
    sha256: str | None = None,
    directory: Path | str = CHECKPOINT_DIR,
) -> ShapesVQA | ShapesCaptioner:
    """The one checkpoint loader: digest from the manifest unless given, model in eval mode."""
    if kind not in KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; known: {sorted(KINDS)}")
    p, digest = _resolve(kind, path, sha256, directory)
    payload = load_checkpoint(p, digest)
    if payload["kind"] != kind:
        raise ValueError(f"{p.name} holds a {payload['kind']!r} checkpoint, not {kind!r}")
    model_class, config_class = KINDS[kind]
    model = model_class(config_class.from_dict(payload["config"]))
    model.load_state_dict(payload["state_dict"])
    return model.eval()


def load_vqa(
    path: Path | str | None = None,
    sha256: str | None = None,
    directory: Path | str = CHECKPOINT_DIR,
) -> ShapesVQA:
    """The pretrained VQA model, in eval mode. Digest from the manifest unless given."""
    model = load_model("vqa", path, sha256, directory)
    assert isinstance(model, ShapesVQA)
    return model


def load_captioner(
    path: Path | str | None = None,
    sha256: str | None = None,
    directory: Path | str = CHECKPOINT_DIR,
) -> ShapesCaptioner:
    """The pretrained captioner, in eval mode. Digest from the manifest unless given."""
    model = load_model("captioner", path, sha256, directory)
    assert isinstance(model, ShapesCaptioner)
    return model
