"""DocsQA answer quality for one configuration: accuracy by slice, abstention, citations, latency.

    python benchmarks/bench_docsqa.py                       # quality defaults, fixed sample
    python benchmarks/bench_docsqa.py --top-k 4 --prompt rules-after --retriever embedding
    python benchmarks/bench_docsqa.py --all                 # every eval question (slow)

Answers are generated with the gate *off* and cached per configuration and question under
`.course/docsqa/bench/` (one JSON line per answer, written as soon as it arrives), so a rerun,
or a report for another gate threshold, costs nothing: the retrieval-score gate is applied
afterwards from each question's recorded best cosine, which is exactly what `DocsQA` would have
done (a gated question never reaches the model). `--min-cosine none` reports without the gate.

Reported per slice (factual / how-to / comparison / unanswerable near-miss / off-corpus):
- answerable: correct (all key facts stated, not abstained), mean key-fact recall (partial
  credit), false refusals; with `--labels`, accuracy from the course-authored labels too;
- unanswerable: abstention rate (the detector in `utils.docsqa.abstention`);
- citation rate (answers citing at least one retrieved note), invented citations, latency p50 /
  p95 (retrieval + generation; gated answers count their retrieval time only), prompt and
  completion tokens, answers cut by the token limit.

Latency is wall time on a shared CPU: compare configurations measured back to back.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from utils.docsqa.abstention import classify
from utils.docsqa.evalset import EvalItem, load_eval_set, stratified_sample
from utils.docsqa.pipeline import (
    DEFAULT_PROMPT_NAME,
    PROMPTS,
    QUALITY_DEFAULTS,
    DocsQA,
    clean_completion,
)
from utils.docsqa.scoring import cited_ids, grade_answer
from utils.paths import runtime_path


def config_key(cfg: dict[str, Any]) -> str:
    """A short digest of everything that changes a generated answer (not the gate)."""
    blob = json.dumps(cfg, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def cache_path(cfg: dict[str, Any]) -> Path:
    """Where answers of this configuration are kept (`.course/`, git-ignored)."""
    path = runtime_path("docsqa") / "bench" / f"answers-{config_key(cfg)}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def load_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Cached answers by question id."""
    return {row["id"]: row for row in load_cache_rows(path)}


def interleave_slices(items: Sequence[EvalItem]) -> list[EvalItem]:
    """Items in round-robin order over slices, so a run stopped early still covers every slice
    in proportion (generation is slow: ~20-60 s per answer on a busy 2-core machine)."""
    groups: dict[str, list[EvalItem]] = {}
    for item in items:
        groups.setdefault(item.slice, []).append(item)
    out: list[EvalItem] = []
    queues = [list(g) for g in groups.values()]
    sizes = [len(q) for q in queues]
    taken = [0] * len(queues)
    while len(out) < len(items):
        # the slice furthest behind its share goes next (ties: the first slice)
        j = min(range(len(queues)), key=lambda i: (taken[i] / sizes[i], i))
        out.append(queues[j][taken[j]])
        taken[j] += 1
    return out


def generate(
    qa: DocsQA, items: Sequence[EvalItem], cfg: dict[str, Any], log: Any = sys.stderr
) -> dict[str, dict[str, Any]]:
    """Answer every item not yet cached, appending each answer to the cache as it arrives."""
    path = cache_path(cfg)
    cached = load_cache(path)
    todo = interleave_slices([i for i in items if i.id not in cached])
    print(f"{len(items) - len(todo)} cached, {len(todo)} to generate -> {path}", file=log)
    client = qa._get_client()
    model = qa.resolved_model_name()
    with path.open("a", encoding="utf-8") as fh:
        for n, item in enumerate(todo, start=1):
            t0 = time.perf_counter()
            contexts = qa.retrieve(item.question)
            cosine = qa.max_cosine(item.question)
            t1 = time.perf_counter()
            resp = client.chat.completions.create(
                model=model,
                messages=qa.build_messages(item.question, contexts),
                temperature=qa.temperature,
                max_tokens=qa.max_tokens,
                seed=cfg["seed"],
            )
            t2 = time.perf_counter()
            usage = resp.usage
            row = {
                "id": item.id,
                "config": cfg,
                "raw": resp.choices[0].message.content or "",
                "finish_reason": resp.choices[0].finish_reason,
                "doc_ids": list(dict.fromkeys(c["doc_id"] for c in contexts)),
                "max_cosine": None if cosine is None else round(cosine, 4),
                "retrieval_s": round(t1 - t0, 4),
                "generation_s": round(t2 - t1, 3),
                "prompt_tokens": getattr(usage, "prompt_tokens", None),
                "completion_tokens": getattr(usage, "completion_tokens", None),
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            cached[item.id] = row
            print(
                f"[{n}/{len(todo)}] {item.id} {t2 - t0:5.1f}s "
                f"{row['completion_tokens']} tok {row['raw'][:70]!r}",
                file=log,
                flush=True,
            )
    return cached


def score_rows(
    items: Sequence[EvalItem],
    answers: dict[str, dict[str, Any]],
    min_cosine: float | None,
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One scored row per item: the gate applied, the answer cleaned, graded, citations read."""
    rows = []
    for item in items:
        a = answers[item.id]
        cosine = a["max_cosine"]  # None for BM25, which DocsQA runs ungated
        gated = min_cosine is not None and cosine is not None and cosine < min_cosine
        text = "" if gated else clean_completion(a["raw"])
        kind = "refusal" if gated else classify(text).kind
        grade = grade_answer(item, text)
        cites = cited_ids(text)
        rows.append(
            {
                "id": item.id,
                "slice": item.slice,
                "answerable": item.answerable,
                "gated": gated,
                "abstention": kind,
                "abstained": grade.abstained,
                "correct": grade.correct,
                "key_fact_recall": grade.key_fact_recall,
                "label": (labels or {}).get(item.id),
                "cited": bool(set(cites) & set(a["doc_ids"])),
                "invented_cite": bool(set(cites) - set(a["doc_ids"])),
                "latency_s": a["retrieval_s"] + (0.0 if gated else a["generation_s"]),
                "prompt_tokens": 0 if gated else a["prompt_tokens"],
                "completion_tokens": 0 if gated else a["completion_tokens"],
                "truncated": (not gated) and a["finish_reason"] == "length",
            }
        )
    return rows


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The headline numbers for one configuration (the shape chapters quote)."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    answered = [r for r in rows if not r["abstained"]]
    lat = [r["latency_s"] for r in rows]
    out: dict[str, Any] = {
        "n": len(rows),
        "n_answerable": len(ans),
        "n_unanswerable": len(una),
        "answerable_correct": sum(r["correct"] for r in ans),
        "answerable_key_fact_recall": round(statistics.mean(r["key_fact_recall"] for r in ans), 3)
        if ans
        else None,
        "false_refusals": sum(r["abstained"] for r in ans),
        "unanswerable_abstained": sum(r["abstained"] for r in una),
        "gated": sum(r["gated"] for r in rows),
        "citation_rate_answered": round(sum(r["cited"] for r in answered) / len(answered), 3)
        if answered
        else None,
        "invented_citations": sum(r["invented_cite"] for r in rows),
        "latency_p50_s": round(_pct(lat, 0.5), 2),
        "latency_p95_s": round(_pct(lat, 0.95), 2),
        "mean_prompt_tokens": round(statistics.mean(r["prompt_tokens"] for r in rows), 1),
        "mean_completion_tokens": round(statistics.mean(r["completion_tokens"] for r in rows), 1),
        "truncated": sum(r["truncated"] for r in rows),
    }
    if any(r["label"] for r in ans):
        out["answerable_label_correct"] = sum(r["label"] == "correct" for r in ans)
        out["answerable_label_partial"] = sum(r["label"] == "partial" for r in ans)
    by_slice: dict[str, dict[str, Any]] = {}
    for r in rows:
        s = by_slice.setdefault(r["slice"], {"n": 0, "correct": 0, "abstained": 0, "recall": []})
        s["n"] += 1
        s["correct"] += r["correct"]
        s["abstained"] += r["abstained"]
        if r["answerable"]:
            s["recall"].append(r["key_fact_recall"])
    out["by_slice"] = {
        k: {
            "n": v["n"],
            "correct": v["correct"],
            "abstained": v["abstained"],
            **({"key_fact_recall": round(statistics.mean(v["recall"]), 3)} if v["recall"] else {}),
        }
        for k, v in sorted(by_slice.items())
    }
    return out


def judge_report(
    items: Sequence[EvalItem], labels_path: Path, client: Any, model: str, seed: int
) -> dict[str, Any]:
    """Agreement (kappa, confusion) of each judge with the course-authored labels.

    The LLM judge's replies are cached by question and answer text, so a rerun is free."""
    from utils.docsqa.agreement import agreement
    from utils.docsqa.judges import key_fact_judge, llm_judge, token_recall_judge
    from utils.docsqa.labels import load_labels

    by_id = {i.id: i for i in items}
    labels = [lab for lab in load_labels(labels_path) if lab.id in by_id]
    path = runtime_path("docsqa") / "bench" / f"judge-{model}-s{seed}.jsonl"
    cache = {(r["id"], r["answer"]): r["verdict"] for r in load_cache_rows(path)}
    llm_verdicts = []
    with path.open("a", encoding="utf-8") as fh:
        for n, lab in enumerate(labels, start=1):
            key = (lab.id, lab.answer)
            if key not in cache:
                cache[key] = llm_judge(by_id[lab.id], lab.answer, client, model, seed)
                fh.write(json.dumps({"id": lab.id, "answer": lab.answer, "verdict": cache[key]}))
                fh.write("\n")
                fh.flush()
                print(f"judge [{n}/{len(labels)}] {lab.id} {cache[key]}", file=sys.stderr)
            llm_verdicts.append(cache[key])
    truth = [lab.correct for lab in labels]
    judges = {
        "key_facts": [key_fact_judge(by_id[lab.id], lab.answer) for lab in labels],
        "token_recall>=0.5": [token_recall_judge(by_id[lab.id], lab.answer) for lab in labels],
        "token_recall>=0.3": [
            token_recall_judge(by_id[lab.id], lab.answer, threshold=0.3) for lab in labels
        ],
        f"llm:{model}": llm_verdicts,
    }
    return {name: agreement(truth, verdicts) for name, verdicts in judges.items()}


def load_cache_rows(path: Path) -> list[dict[str, Any]]:
    """JSON lines of a cache file (missing file: none; a torn last line: skipped)."""
    rows = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Generate (or reuse) answers for one configuration and print its summary as JSON."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--retriever", default="hybrid", choices=["hybrid", "embedding", "bm25"])
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--max-tokens", type=int, default=160)
    p.add_argument("--prompt", default=DEFAULT_PROMPT_NAME, choices=sorted(PROMPTS))
    p.add_argument(
        "--min-cosine",
        default=str(QUALITY_DEFAULTS["min_cosine"]),
        help="gate threshold, or 'none'",
    )
    p.add_argument("--seed", type=int, default=0, help="sample and generation seed")
    p.add_argument("--all", action="store_true", help="every question, not the fixed sample")
    p.add_argument("--ids", help="comma-separated question ids instead of the sample")
    p.add_argument("--labels", type=Path, help="labels JSONL (data/docsqa/judge_labels.jsonl)")
    p.add_argument("--rows", type=Path, help="write scored rows here as JSON lines")
    p.add_argument(
        "--against-prompt",
        choices=sorted(PROMPTS),
        help="paired comparison (McNemar) with the same settings and this prompt (cached run)",
    )
    p.add_argument(
        "--judges", action="store_true", help="with --labels: judge agreement (kappa) only"
    )
    args = p.parse_args(argv)

    items = load_eval_set()
    if args.ids:
        wanted = set(args.ids.split(","))
        items = [i for i in items if i.id in wanted]
    elif not args.all:
        items = stratified_sample(items, seed=args.seed)
    qa = DocsQA(
        retriever=args.retriever,
        top_k=args.top_k,
        max_tokens=args.max_tokens,
        prompt_template=PROMPTS[args.prompt],
        min_cosine=None,
    )
    cfg = {
        "retriever": args.retriever,
        "top_k": args.top_k,
        "max_tokens": args.max_tokens,
        "prompt": args.prompt,
        "prompt_sha": hashlib.sha256(PROMPTS[args.prompt].encode()).hexdigest()[:12],
        "temperature": qa.temperature,
        "model": qa.resolved_model_name(),
        "seed": args.seed,
    }
    if args.judges:
        if not args.labels:
            p.error("--judges needs --labels")
        report = judge_report(
            load_eval_set(), args.labels, qa._get_client(), cfg["model"], args.seed
        )
        print(json.dumps(report, indent=1))
        return 0
    answers = generate(qa, items, cfg)
    gate = None if args.min_cosine.lower() == "none" else float(args.min_cosine)
    labels = None
    if args.labels:
        from utils.docsqa.labels import load_labels

        loaded = load_labels(args.labels)
        if all(lab.config == cfg for lab in loaded):
            labels = {lab.id: lab.verdict for lab in loaded}
        else:  # labels grade other answers: counting them here would be meaningless
            print("labels were made with another configuration: not used", file=sys.stderr)
    rows = score_rows(items, answers, gate, labels)
    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = {"config": {**cfg, "min_cosine": gate}, **summarise(rows)}
    if args.against_prompt:
        other_prompt = PROMPTS[args.against_prompt]
        other_cfg = {
            **cfg,
            "prompt": args.against_prompt,
            "prompt_sha": hashlib.sha256(other_prompt.encode()).hexdigest()[:12],
        }
        other = load_cache(cache_path(other_cfg))
        missing = [i.id for i in items if i.id not in other]
        if missing:
            p.error(f"run --prompt {args.against_prompt} first ({len(missing)} answers missing)")
        other_rows = score_rows(items, other, gate, labels)
        report["paired"] = paired_report(rows, other_rows, args.against_prompt)
    print(json.dumps(report, indent=1))
    return 0


def paired_report(
    rows: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]], other_name: str
) -> dict[str, Any]:
    """McNemar's exact test between two configurations on the same questions, the observed
    discordant rate, and the smallest difference detectable at that rate (80% power, 5%)."""
    from utils.docsqa.power import mcnemar_exact, min_detectable_difference, paired_counts

    this_only, other_only = paired_counts(
        [r["correct"] for r in rows], [r["correct"] for r in other]
    )
    n = len(rows)
    rate = (this_only + other_only) / n
    n_all = len(load_eval_set())
    return {
        "against": other_name,
        "correct_this": sum(r["correct"] for r in rows),
        "correct_other": sum(r["correct"] for r in other),
        "only_this_correct": this_only,
        "only_other_correct": other_only,
        "mcnemar_exact_p": round(mcnemar_exact(this_only, other_only), 4),
        "discordant_rate": round(rate, 3),
        f"min_detectable_difference_n{n}": min_detectable_difference(n, rate) if rate else None,
        f"min_detectable_difference_n{n_all}": min_detectable_difference(n_all, rate)
        if rate
        else None,
    }


if __name__ == "__main__":
    raise SystemExit(main())
