"""The DocsQA benchmark's scoring on cached answers (no model): the gate applied afterwards,
slices, citations, truncation, the paired report, and the slice interleaving."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from utils.docsqa.evalset import EvalItem, load_eval_set, stratified_sample

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_docsqa.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_docsqa", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_docsqa"] = module
    spec.loader.exec_module(module)
    return module


ITEMS = [
    EvalItem("a1", "q1", "latest", ("artifacts-aliases",), "factual", key_facts=("latest",)),
    EvalItem(
        "a2", "q2", "use define_metric", ("wandb-logging-steps",), "how-to", ("define_metric",)
    ),
    EvalItem("u1", "q3", "I don't know.", (), "unanswerable", near_miss=True),
    EvalItem("u2", "q4", "I don't know.", (), "unanswerable"),
]


def _answer(raw: str, cosine: float, finish: str = "stop", docs: list[str] | None = None) -> dict:
    return {
        "raw": raw,
        "max_cosine": cosine,
        "finish_reason": finish,
        "doc_ids": docs or ["artifacts-aliases"],
        "retrieval_s": 0.01,
        "generation_s": 2.0,
        "prompt_tokens": 400,
        "completion_tokens": 30,
    }


ANSWERS = {
    "a1": _answer("The alias latest [artifacts-aliases].", 0.7),
    "a2": _answer("Log it twice. I don't know.", 0.6, docs=["wandb-logging-steps"]),
    "u1": _answer("It is 10GB [made-up].", 0.5, finish="length"),
    "u2": _answer("Canberra.", 0.1),
}


def test_score_rows_applies_gate_afterwards(bench: ModuleType) -> None:
    ungated = {r["id"]: r for r in bench.score_rows(ITEMS, ANSWERS, None)}
    assert ungated["a1"]["correct"] and ungated["a1"]["cited"]
    assert ungated["a2"]["abstained"] and ungated["a2"]["abstention"] == "trailing"
    assert not ungated["u1"]["abstained"] and ungated["u1"]["invented_cite"]
    assert ungated["u1"]["truncated"] and not ungated["u2"]["correct"]
    gated = {r["id"]: r for r in bench.score_rows(ITEMS, ANSWERS, 0.3)}
    assert gated["u2"]["gated"] and gated["u2"]["correct"] and gated["u2"]["completion_tokens"] == 0
    assert gated["u2"]["latency_s"] == pytest.approx(0.01)  # retrieval only, no model call
    assert not gated["a1"]["gated"]


def test_summary_counts(bench: ModuleType) -> None:
    summary = bench.summarise(bench.score_rows(ITEMS, ANSWERS, 0.3))
    assert summary["answerable_correct"] == 1 and summary["false_refusals"] == 1
    assert summary["unanswerable_abstained"] == 1 and summary["gated"] == 1
    assert summary["citation_rate_answered"] == 0.5  # a1 cites, u1 cites a made-up id
    assert summary["invented_citations"] == 1 and summary["truncated"] == 1
    assert summary["by_slice"]["unanswerable/near-miss"] == {"n": 1, "correct": 0, "abstained": 0}


def test_paired_report(bench: ModuleType) -> None:
    rows = bench.score_rows(ITEMS, ANSWERS, None)
    better = dict(ANSWERS, u2=_answer("I don't know.", 0.1), a2=_answer("Use define_metric.", 0.6))
    other = bench.score_rows(ITEMS, better, None)
    out = bench.paired_report(rows, other, "other")
    assert (out["only_this_correct"], out["only_other_correct"]) == (0, 2)
    assert out["discordant_rate"] == 0.5 and out["mcnemar_exact_p"] == 0.5


def test_interleave_keeps_slices_in_proportion(bench: ModuleType) -> None:
    sample = stratified_sample(load_eval_set())
    order = bench.interleave_slices(sample)
    assert sorted(i.id for i in order) == sorted(i.id for i in sample)
    first = Counter(i.slice for i in order[:20])  # a third of the run covers every slice
    assert set(first) == {i.slice for i in sample} and max(first.values()) <= 6


def test_config_key_changes_with_settings(bench: ModuleType) -> None:
    cfg: dict[str, Any] = {"top_k": 3, "prompt": "rules-after"}
    assert bench.config_key(cfg) == bench.config_key(dict(reversed(cfg.items())))
    assert bench.config_key({**cfg, "top_k": 4}) != bench.config_key(cfg)
