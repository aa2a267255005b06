"""Training and evaluation for the ShapesVQA models, by step count, with optional W&B logging.

Training is measured in optimizer steps, not seconds, so a run is reproducible and a test can
ask for "20 steps" and get the same model every time. The caller owns the W&B run: pass
`run=wandb.init(...)` (or None) and these functions only ever call `run.log({...})`, so the
same code serves notebooks (online or offline) and tests (no W&B at all).

`PROFILES` holds the two settings the course uses: `fast` (CI and impatient learners, about
ten seconds per model) and `full` (what the shipped checkpoints used: roughly 80-90 s per model
with one torch thread on a busy 2-core machine). Training is bitwise reproducible for a fixed
seed *and* thread count; on a shared machine one thread is also the fastest setting, because
spinning worker threads fight over the cores (`torch.set_num_threads(1)`).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from utils.profiles import Profile as ProfileName
from utils.shapes.captioner import CaptionerConfig, ShapesCaptioner, caption_objects
from utils.shapes.dataset import Record
from utils.shapes.vocab import tokenize
from utils.shapes.vqa_model import ShapesVQA, VQAConfig, images_to_tensor

IGNORE = -100  # target id for answers outside the answer vocabulary (e.g. drift colours)


class RunLike(Protocol):
    """The one method these functions need from a wandb run."""

    def log(self, data: dict[str, Any], *args: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Profile:
    """Data size and optimisation budget for one model in one course profile."""

    n_train: int
    n_test: int
    steps: int
    batch_size: int
    lr: float


# `full` numbers are what the checkpoints were trained with (see data/shapes/checkpoints/
# MANIFEST.json for the accuracy and time each reached); `fast` only has to beat chance.
PROFILES: dict[str, dict[ProfileName, Profile]] = {
    "vqa": {
        "fast": Profile(n_train=2000, n_test=300, steps=200, batch_size=32, lr=3e-3),
        "full": Profile(n_train=10000, n_test=1000, steps=2000, batch_size=32, lr=3e-3),
    },
    "captioner": {
        "fast": Profile(n_train=2000, n_test=300, steps=150, batch_size=32, lr=3e-3),
        "full": Profile(n_train=8000, n_test=1000, steps=1000, batch_size=32, lr=3e-3),
    },
}


ModelT = TypeVar("ModelT", bound=torch.nn.Module)


@dataclass
class TrainResult(Generic[ModelT]):
    """What a training call returns: the model (in eval mode), timing and the loss curve."""

    model: ModelT
    steps: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def _lr_at(step: int, steps: int, lr: float) -> float:
    """Short linear warm-up, then cosine decay to zero: robust for tiny models and few steps."""
    warm = max(1, steps // 20)
    if step < warm:
        return lr * (step + 1) / warm
    return lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))


@dataclass(frozen=True)
class StepOutcome:
    """What one optimisation step reports: its loss and how many predictions were right."""

    loss: torch.Tensor
    correct: int
    seen: int


def _train_loop(
    model: ModelT,
    step_fn: Callable[[int, torch.Generator], StepOutcome],
    *,
    steps: int,
    lr: float,
    weight_decay: float,
    seed: int,
    prefix: str,
    acc_name: str,
    desc: str,
    run: RunLike | None,
    log_every: int,
    progress: bool,
) -> TrainResult[ModelT]:
    """The loop both models share: AdamW, warm-up + cosine schedule, clipping, logging.

    `step_fn(step, generator)` draws its batch from `generator` and returns the loss (not yet
    backpropagated) with its accuracy counts; everything else about a step lives here, so the
    two models are trained and logged the same way. Logs `{prefix}/step`, `{prefix}/loss`,
    `{prefix}/{acc_name}` and `{prefix}/lr` every `log_every` steps.
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    history: list[dict[str, float]] = []
    t0 = time.perf_counter()
    bar = tqdm(range(steps), desc=desc, disable=not progress, leave=False)
    loss_sum, correct, seen = 0.0, 0, 0
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, steps, lr)
        out = step_fn(step, gen)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss_sum += out.loss.item()
        correct += out.correct
        seen += out.seen
        if (step + 1) % log_every == 0 or step + 1 == steps:
            k = (step % log_every) + 1
            row = {
                f"{prefix}/step": step + 1,
                f"{prefix}/loss": loss_sum / k,
                f"{prefix}/{acc_name}": correct / max(1, seen),
                f"{prefix}/lr": opt.param_groups[0]["lr"],
            }
            history.append(row)
            bar.set_postfix(
                loss=f"{row[f'{prefix}/loss']:.3f}", acc=f"{row[f'{prefix}/{acc_name}']:.3f}"
            )
            if run is not None:
                run.log(row)
            loss_sum, correct, seen = 0.0, 0, 0
    model.eval()
    return TrainResult(model=model, steps=steps, seconds=time.perf_counter() - t0, history=history)


# ============================================================================ VQA


@dataclass
class VQATensors:
    """A record list flattened into tensors: images once, questions pointing at their image."""

    images: torch.Tensor  # uint8 (N, H, W, 3)
    qids: torch.Tensor  # (M, L) question word ids
    answers: torch.Tensor  # (M,) answer ids, IGNORE if not in the answer vocabulary
    image_index: torch.Tensor  # (M,) image of each question
    qtypes: list[str]
    q_start: torch.Tensor  # (N,) first question of each image
    q_count: torch.Tensor  # (N,) number of questions of each image

    def questions_of(self, image_ids: torch.Tensor) -> torch.Tensor:
        """Indices of all questions about the given images (in image order)."""
        counts = self.q_count[image_ids]
        offsets = torch.cumsum(counts, 0) - counts
        within = torch.arange(int(counts.sum())) - torch.repeat_interleave(offsets, counts)
        return torch.repeat_interleave(self.q_start[image_ids], counts) + within


def vqa_tensors(records: Sequence[Record], model: ShapesVQA) -> VQATensors:
    """Tensors for training/evaluating `model` (its vocabularies decide the ids)."""
    a2i = {a: i for i, a in enumerate(model.config.answers)}
    texts, answers, image_index, qtypes, counts = [], [], [], [], []
    for n, r in enumerate(records):
        counts.append(len(r.questions))
        for q in r.questions:
            texts.append(q.text)
            answers.append(a2i.get(q.answer, IGNORE))
            image_index.append(n)
            qtypes.append(q.qtype)
    q_count = torch.tensor(counts, dtype=torch.long)
    return VQATensors(
        images=images_to_tensor([r.image for r in records]),
        qids=model.encode_questions(texts),
        answers=torch.tensor(answers, dtype=torch.long),
        image_index=torch.tensor(image_index, dtype=torch.long),
        qtypes=qtypes,
        q_start=torch.cumsum(q_count, 0) - q_count,
        q_count=q_count,
    )


def train_vqa(
    train: Sequence[Record] | VQATensors,
    *,
    steps: int,
    model: ShapesVQA | None = None,
    config: VQAConfig | None = None,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    run: RunLike | None = None,
    log_every: int = 25,
    progress: bool = True,
    budget_dropout: float = 0.5,
    budgets: Sequence[int] = (4, 8, 16, 32),
    budget_start: float = 0.5,
) -> TrainResult[ShapesVQA]:
    """Train (or continue training) a `ShapesVQA` for `steps` optimizer steps.

    Each step takes `batch_size` images and *all* their questions, so every image is encoded
    once per step. After the first `budget_start` fraction of steps, with probability
    `budget_dropout` a step is trained under a random `patch_budget` from `budgets`, so the
    model learns to answer from its top-ranked patches and a token-budget study measures the
    model rather than a train/test mismatch. (Starting late matters: the attention first has to
    learn what to rank high; budgets from step 0 slow that down a lot.)
    Logs `vqa/loss`, `vqa/train_acc` and `vqa/lr` every `log_every` steps.
    """
    torch.manual_seed(seed)
    model = model or ShapesVQA(config)
    data = train if isinstance(train, VQATensors) else vqa_tensors(train, model)
    n_images = data.images.shape[0]

    def step_fn(step: int, gen: torch.Generator) -> StepOutcome:
        imgs = torch.randint(n_images, (batch_size,), generator=gen)
        qs = data.questions_of(imgs)
        # Questions index into this batch's images, not the whole set.
        local = torch.repeat_interleave(torch.arange(batch_size), data.q_count[imgs])
        budget = None
        coin = float(torch.rand((), generator=gen))  # drawn every step: same stream either way
        if step >= budget_start * steps and coin < budget_dropout:
            budget = int(budgets[int(torch.randint(len(budgets), (), generator=gen))])
        out = model(data.images[imgs], data.qids[qs], local, patch_budget=budget)
        target = data.answers[qs]
        valid = target != IGNORE
        return StepOutcome(
            loss=F.cross_entropy(out.logits, target, ignore_index=IGNORE),
            correct=int((out.logits.argmax(-1) == target)[valid].sum()),
            seen=int(valid.sum()),
        )

    return _train_loop(
        model, step_fn, steps=steps, lr=lr, weight_decay=weight_decay, seed=seed,
        prefix="vqa", acc_name="train_acc", desc="ShapesVQA", run=run, log_every=log_every,
        progress=progress,
    )  # fmt: skip


@torch.no_grad()
def _vqa_outputs(
    model: ShapesVQA,
    data: VQATensors,
    patch_budget: int | None,
    patch_select: str,
    seed: int,
    batch_images: int = 200,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Predicted ids, confidences and used attention for every question, in order."""
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    preds, confs, atts = [], [], []
    n = data.images.shape[0]
    for start in range(0, n, batch_images):
        imgs = torch.arange(start, min(n, start + batch_images))
        qs = data.questions_of(imgs)
        local = data.image_index[qs] - start
        out = model(data.images[imgs], data.qids[qs], local, patch_budget, patch_select, gen)
        p = out.logits.softmax(-1)
        conf, pred = p.max(-1)
        preds.append(pred)
        confs.append(conf)
        atts.append(out.attention)
    model.train(was_training)
    return torch.cat(preds), torch.cat(confs), torch.cat(atts)


def evaluate_vqa(
    model: ShapesVQA,
    records: Sequence[Record] | VQATensors,
    patch_budget: int | None = None,
    patch_select: str = "attention",
    seed: int = 0,
) -> dict[str, Any]:
    """Exact-match accuracy against the canonical answer, overall and per question type.

    Answers the model cannot produce (drift colours) count as wrong, as they would in production.
    """
    data = records if isinstance(records, VQATensors) else vqa_tensors(records, model)
    pred, _, _ = _vqa_outputs(model, data, patch_budget, patch_select, seed)
    ok = (pred == data.answers).numpy()
    per: dict[str, list[bool]] = defaultdict(list)
    for t, c in zip(data.qtypes, ok.tolist(), strict=True):
        per[t].append(c)
    return {
        "accuracy": float(ok.mean()),
        "per_type": {t: float(np.mean(v)) for t, v in sorted(per.items())},
        "n_questions": int(ok.size),
    }


def predict_vqa(
    model: ShapesVQA,
    records: Sequence[Record],
    patch_budget: int | None = None,
    patch_select: str = "attention",
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per question (ids, text, truth, prediction, confidence, 8x8 attention map).

    Rows are plain dicts so they drop straight into `pandas.DataFrame` or a `wandb.Table`.
    """
    data = vqa_tensors(records, model)
    pred, conf, att = _vqa_outputs(model, data, patch_budget, patch_select, seed)
    g = model.config.grid
    rows = []
    k = 0
    for r in records:
        for q in r.questions:
            p = model.config.answers[int(pred[k])]
            rows.append(
                {
                    "image_id": r.image_id,
                    "qtype": q.qtype,
                    "question": q.text,
                    "answer": q.answer,
                    "prediction": p,
                    "correct": p == q.answer,
                    "confidence": float(conf[k]),
                    "human_answers": list(q.human_answers),
                    "attention": att[k].reshape(g, g).numpy(),
                    "patch_budget": patch_budget,
                }
            )
            k += 1
    return rows


# ============================================================================ captioner


@dataclass
class CaptionTensors:
    images: torch.Tensor  # uint8 (N, H, W, 3)
    tokens: torch.Tensor  # (N, T) <bos> caption <eos> <pad>...
    references: list[str]  # canonical captions, for metrics


def caption_tensors(records: Sequence[Record], model: ShapesCaptioner) -> CaptionTensors:
    """Canonical caption (the first reference) of each record, as padded token ids."""
    caps = [r.captions[0] for r in records]
    return CaptionTensors(
        images=images_to_tensor([r.image for r in records]),
        tokens=model.encode_captions(caps),
        references=caps,
    )


def train_captioner(
    train: Sequence[Record] | CaptionTensors,
    *,
    steps: int,
    model: ShapesCaptioner | None = None,
    config: CaptionerConfig | None = None,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    run: RunLike | None = None,
    log_every: int = 25,
    progress: bool = True,
) -> TrainResult[ShapesCaptioner]:
    """Train a `ShapesCaptioner` with teacher forcing on the canonical captions.

    Logs `captioner/loss`, `captioner/token_acc` (teacher-forced) and `captioner/lr`.
    """
    torch.manual_seed(seed)
    model = model or ShapesCaptioner(config)
    data = train if isinstance(train, CaptionTensors) else caption_tensors(train, model)
    n = data.images.shape[0]

    def step_fn(step: int, gen: torch.Generator) -> StepOutcome:
        idx = torch.randint(n, (batch_size,), generator=gen)
        tok = data.tokens[idx]
        length = int((tok != model.pad_id).sum(1).max())
        tok = tok[:, :length]
        logits = model(data.images[idx], tok[:, :-1])
        target = tok[:, 1:]
        valid = target != model.pad_id
        return StepOutcome(
            loss=F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=model.pad_id
            ),
            correct=int((logits.argmax(-1) == target)[valid].sum()),
            seen=int(valid.sum()),
        )

    return _train_loop(
        model, step_fn, steps=steps, lr=lr, weight_decay=weight_decay, seed=seed,
        prefix="captioner", acc_name="token_acc", desc="ShapesCaptioner", run=run,
        log_every=log_every, progress=progress,
    )  # fmt: skip


def predict_captions(
    model: ShapesCaptioner, records: Sequence[Record], batch_size: int = 250
) -> list[str]:
    """Greedy captions for records, in order."""
    out: list[str] = []
    for i in range(0, len(records), batch_size):
        out += model.caption([r.image for r in records[i : i + batch_size]])
    return out


def evaluate_captioner(model: ShapesCaptioner, records: Sequence[Record]) -> dict[str, float]:
    """Three simple scores against the canonical caption and the scene graph.

    - `exact_match`: greedy caption identical to the canonical reference;
    - `token_accuracy`: position-wise token agreement over the reference's length (a generated
      caption that drifts out of step is punished from that point on);
    - `object_f1`: F1 between the (size, colour, shape) triples named in the caption and the
      objects in the scene graph, so a caption that is right up to word order still scores.
    Full captioning metrics (BLEU, CIDEr, ...) against all six references live in chapter 08.
    """
    preds = predict_captions(model, records)
    exact, tok_ok, tok_n, tp, n_pred, n_true = 0, 0, 0, 0, 0, 0
    for p, r in zip(preds, records, strict=True):
        ref = r.captions[0]
        exact += p == ref
        pt, rt = tokenize(p), tokenize(ref)
        tok_ok += sum(a == b for a, b in zip(pt, rt, strict=False))
        tok_n += len(rt)
        said = caption_objects(p)
        truth = [(o.size, o.color, o.shape) for o in r.scene.objects]
        remaining = list(truth)
        for obj in said:
            if obj in remaining:
                remaining.remove(obj)
                tp += 1
        n_pred += len(said)
        n_true += len(truth)
    precision = tp / max(1, n_pred)
    recall = tp / max(1, n_true)
    return {
        "exact_match": exact / len(records),
        "token_accuracy": tok_ok / max(1, tok_n),
        "object_f1": 0.0 if tp == 0 else 2 * precision * recall / (precision + recall),
    }
