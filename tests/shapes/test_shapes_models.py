"""ShapesVQA models: they learn, the token budget is real, checkpoints are verified."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from utils.shapes import (
    ChecksumError,
    ShapesCaptioner,
    ShapesVQA,
    evaluate_captioner,
    evaluate_vqa,
    fingerprint,
    load_captioner,
    load_vqa,
    make_dataset,
    predict_vqa,
    save_checkpoint,
    train_captioner,
    train_vqa,
)
from utils.shapes import checkpoints as ck
from utils.shapes.train import vqa_tensors


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine two spinning threads run ~10x slower, and
    bitwise-reproducible training needs a fixed thread count anyway."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    return make_dataset(400, "train", 0), make_dataset(100, "test", 0)


@pytest.fixture(scope="module")
def vqa(data):
    train, _ = data
    return train_vqa(train, steps=120, batch_size=32, seed=0, progress=False, log_every=20)


_N_ANSWERS = {"color": 6, "shape": 3, "count": 5, "exists": 2, "position": 2}


def _chance(records) -> float:
    """Expected accuracy of guessing uniformly among the answers each question type allows."""
    qs = [q for r in records for q in r.questions]
    return sum(1 / _N_ANSWERS[q.qtype] for q in qs) / len(qs)


def test_vqa_trains_and_beats_chance(vqa, data):
    _, test = data
    losses = [h["vqa/loss"] for h in vqa.history]
    assert losses[-1] < losses[0]
    result = evaluate_vqa(vqa.model, test)
    assert result["accuracy"] > _chance(test) + 0.1, result
    assert set(result["per_type"]) == {"color", "shape", "count", "exists", "position"}


def test_training_logs_to_the_run_it_is_given(data):
    class Run:
        def __init__(self) -> None:
            self.rows: list[dict] = []

        def log(self, row: dict) -> None:
            self.rows.append(row)

    run = Run()
    train_vqa(data[0][:50], steps=4, run=run, log_every=2, progress=False)
    assert [r["vqa/step"] for r in run.rows] == [2, 4]
    assert {"vqa/loss", "vqa/train_acc", "vqa/lr"} <= set(run.rows[0])


def test_training_is_deterministic(data):
    a = train_vqa(data[0][:64], steps=3, progress=False, budget_dropout=0.0).model
    b = train_vqa(data[0][:64], steps=3, progress=False, budget_dropout=0.0).model
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(va, vb), ka


def test_patch_budget_restricts_attention_to_k_patches(vqa, data):
    model: ShapesVQA = vqa.model
    t = vqa_tensors(data[1][:20], model)
    imgs, qids, idx = t.images, t.qids, t.image_index
    with torch.no_grad():
        full = model(imgs, qids, idx)
        assert full.kept.all() and torch.allclose(full.attention.sum(-1), torch.ones(len(qids)))
        for k in (1, 4, 16):
            out = model(imgs, qids, idx, patch_budget=k)
            assert (out.kept.sum(-1) == k).all()
            assert (
                out.head_attention[~out.kept[:, None, :].expand_as(out.head_attention)] == 0
            ).all()
            assert torch.allclose(out.attention.sum(-1), torch.ones(len(qids)), atol=1e-5)
            top = full.full_attention.topk(k, dim=-1).indices
            assert out.kept.gather(1, top).all(), "attention budget keeps the top-ranked patches"
        g = torch.Generator().manual_seed(0)
        rnd = model(imgs, qids, idx, patch_budget=4, patch_select="random", generator=g)
        assert (rnd.kept.sum(-1) == 4).all() and not torch.equal(rnd.kept, out.kept)
        assert model(imgs, qids, idx, patch_budget=64).kept.all()
    with pytest.raises(ValueError):
        model(imgs, qids, idx, patch_budget=0)


def test_predict_rows_and_answer_helper(vqa, data):
    rows = predict_vqa(vqa.model, data[1][:5], patch_budget=8)
    assert len(rows) == sum(len(r.questions) for r in data[1][:5])
    assert rows[0]["attention"].shape == (8, 8) and 0 <= rows[0]["confidence"] <= 1
    one = vqa.model.answer(data[1][0].image, data[1][0].questions[0].text)
    assert one[0]["answer"] in vqa.model.config.answers
    many = vqa.model.answer(data[1][0].image, [q.text for q in data[1][0].questions])
    assert len(many) == len(data[1][0].questions)


def test_captioner_trains_a_few_steps(data):
    train, test = data
    res = train_captioner(train, steps=60, batch_size=32, progress=False, log_every=10)
    assert res.history[-1]["captioner/loss"] < res.history[0]["captioner/loss"]
    assert res.history[-1]["captioner/token_acc"] > 0.3
    scores = evaluate_captioner(res.model, test[:20])
    assert set(scores) == {"exact_match", "token_accuracy", "object_f1"}
    assert scores["token_accuracy"] > 0.2


def test_checkpoint_round_trip_and_tamper_refusal(vqa, data, tmp_path):
    entry = save_checkpoint(vqa.model, tmp_path / "v.pt", "vqa")
    loaded = load_vqa(tmp_path / "v.pt", sha256=entry["sha256"])
    t = vqa_tensors(data[1][:10], loaded)
    with torch.no_grad():
        a = vqa.model.eval()(t.images, t.qids, t.image_index)
        b = loaded(t.images, t.qids, t.image_index)
    assert torch.equal(a.logits, b.logits) and torch.equal(a.attention, b.attention)

    cap = ShapesCaptioner()
    centry = save_checkpoint(cap, tmp_path / "c.pt", "captioner")
    cap2 = load_captioner(tmp_path / "c.pt", sha256=centry["sha256"])
    imgs = [r.image for r in data[1][:4]]
    assert cap.eval().caption(imgs) == cap2.caption(imgs)

    raw = bytearray((tmp_path / "v.pt").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "bad.pt").write_bytes(bytes(raw))
    with pytest.raises(ChecksumError):
        load_vqa(tmp_path / "bad.pt", sha256=entry["sha256"])
    with pytest.raises(ValueError):  # right digest, wrong kind of model
        load_captioner(tmp_path / "v.pt", sha256=entry["sha256"])


def test_committed_checkpoints_verify_load_fast_and_work(data):
    manifest = json.loads((ck.CHECKPOINT_DIR / ck.MANIFEST_NAME).read_text())
    for kind, entry in manifest["models"].items():
        path = Path(ck.CHECKPOINT_DIR) / entry["file"]
        assert path.stat().st_size == entry["bytes"] < 5_000_000
        assert ck.sha256_file(path) == entry["sha256"], f"{kind} checkpoint differs from manifest"
    # The generator still makes the data the checkpoints were trained on.
    assert fingerprint(make_dataset(200, "train", 0)) == manifest["data_fingerprint"]["sha256"]
    t0 = time.perf_counter()
    model = load_vqa()
    cap = load_captioner()
    assert time.perf_counter() - t0 < 5
    _, test = data
    assert evaluate_vqa(model, test)["accuracy"] >= 0.85
    assert evaluate_captioner(cap, test[:50])["object_f1"] >= 0.8


def test_real_wandb_offline_run_accepts_the_logs(data, tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = wandb.init(project="shapes-test", dir=str(tmp_path))
    try:
        train_captioner(data[0][:40], steps=2, run=run, log_every=1, progress=False)
        assert run.summary["captioner/step"] == 2
    finally:
        run.finish()
