"""ShapesVQA: the course's vision running example, fully synthetic and fully offline.

    from utils.shapes import make_dataset, to_dataframe, to_pil, load_vqa
    records = make_dataset(200, "test", seed=0)        # images, scene graphs, QA, captions
    model = load_vqa()                                  # digest-verified pretrained checkpoint
    model.answer(records[0].image, records[0].questions[0].text)

The data side (scenes, questions, captions, drift, datasets) needs only numpy; the model side
needs torch, which takes a couple of seconds to import, so those names are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from utils.shapes.captions import canonical_caption, make_captions
from utils.shapes.dataset import (
    SPLITS,
    Record,
    fingerprint,
    iter_records,
    make_dataset,
    production_stream,
    split_of,
    to_dataframe,
    to_pil,
)
from utils.shapes.drift import DRIFT_KINDS, NOVEL_COLORS, Drift, apply_drift, drift_schedule
from utils.shapes.questions import (
    QUESTION_TYPES,
    Question,
    majority_answer,
    make_questions,
    normalize_answer,
    relevance_map,
)
from utils.shapes.scenes import (
    COLORS,
    GRID,
    IMAGE_SIZE,
    MAX_OBJECTS,
    PATCH_SIZE,
    SHAPES,
    SIZES,
    Scene,
    SceneObject,
    generate_scene,
    object_masks,
    patch_coverage,
    render,
)

# Torch-dependent names -> the module that defines them (imported lazily, see __getattr__).
_LAZY = {
    "ShapesVQA": "vqa_model",
    "VQAConfig": "vqa_model",
    "VQAOutput": "vqa_model",
    "ShapesCaptioner": "captioner",
    "CaptionerConfig": "captioner",
    "PROFILES": "train",
    "Profile": "train",
    "TrainResult": "train",
    "train_vqa": "train",
    "evaluate_vqa": "train",
    "predict_vqa": "train",
    "train_captioner": "train",
    "evaluate_captioner": "train",
    "predict_captions": "train",
    "load_vqa": "checkpoints",
    "load_captioner": "checkpoints",
    "save_checkpoint": "checkpoints",
    "ChecksumError": "checkpoints",
    "CHECKPOINT_DIR": "checkpoints",
}

if TYPE_CHECKING:
    from utils.shapes.captioner import CaptionerConfig, ShapesCaptioner
    from utils.shapes.checkpoints import (
        CHECKPOINT_DIR,
        ChecksumError,
        load_captioner,
        load_vqa,
        save_checkpoint,
    )
    from utils.shapes.train import (
        PROFILES,
        Profile,
        TrainResult,
        evaluate_captioner,
        evaluate_vqa,
        predict_captions,
        predict_vqa,
        train_captioner,
        train_vqa,
    )
    from utils.shapes.vqa_model import ShapesVQA, VQAConfig, VQAOutput


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"utils.shapes.{_LAZY[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'utils.shapes' has no attribute {name!r}")


__all__ = [
    "CHECKPOINT_DIR",
    "COLORS",
    "DRIFT_KINDS",
    "GRID",
    "IMAGE_SIZE",
    "MAX_OBJECTS",
    "NOVEL_COLORS",
    "PATCH_SIZE",
    "PROFILES",
    "QUESTION_TYPES",
    "SHAPES",
    "SIZES",
    "SPLITS",
    "CaptionerConfig",
    "ChecksumError",
    "Drift",
    "Profile",
    "Question",
    "Record",
    "Scene",
    "SceneObject",
    "ShapesCaptioner",
    "ShapesVQA",
    "TrainResult",
    "VQAConfig",
    "VQAOutput",
    "apply_drift",
    "canonical_caption",
    "drift_schedule",
    "evaluate_captioner",
    "evaluate_vqa",
    "fingerprint",
    "generate_scene",
    "iter_records",
    "load_captioner",
    "load_vqa",
    "majority_answer",
    "make_captions",
    "make_dataset",
    "make_questions",
    "normalize_answer",
    "object_masks",
    "patch_coverage",
    "predict_captions",
    "predict_vqa",
    "production_stream",
    "relevance_map",
    "render",
    "save_checkpoint",
    "split_of",
    "to_dataframe",
    "to_pil",
    "train_captioner",
    "train_vqa",
]
