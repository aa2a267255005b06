"""Evaluations and feedback through the real weave client on the local store."""

from __future__ import annotations

import asyncio
from typing import Any

import weave


class Doubler(weave.Model):
    times: int = 2

    @weave.op
    def predict(self, question: str) -> str:
        return question * self.times


@weave.op
def exact_match(expected: str, output: str) -> dict:
    return {"correct": expected == output}


class LengthScorer(weave.Scorer):
    limit: int = 3

    @weave.op
    def score(self, output: str) -> dict:
        return {"short": len(output) <= self.limit}


ROWS = [
    {"question": "a", "expected": "aa"},
    {"question": "b", "expected": "bb"},
    {"question": "c", "expected": "x"},
]


def op_short(call: Any) -> str:
    return call.op_name.split("/")[-1].split(":")[0]


def test_evaluation_with_function_and_class_scorers(client: Any) -> None:
    dataset = weave.Dataset(name="letters", rows=ROWS)
    evaluation = weave.Evaluation(dataset=dataset, scorers=[exact_match, LengthScorer()])
    summary = asyncio.run(evaluation.evaluate(Doubler()))
    assert summary["exact_match"]["correct"]["true_count"] == 2
    assert summary["LengthScorer"]["short"]["true_fraction"] == 1.0
    client.flush()

    (run,) = evaluation.get_evaluate_calls()
    assert run.summary["weave"]["status"] == "success"
    children = list(client.get_calls(filter={"parent_ids": [run.id]}))
    assert sorted(op_short(c) for c in children) == ["Evaluation.predict_and_score"] * 3 + [
        "Evaluation.summarize"
    ]
    trace = list(client.get_calls(filter={"trace_ids": [run.trace_id]}))
    names = [op_short(c) for c in trace]
    assert names.count("Doubler.predict") == 3
    assert names.count("exact_match") == 3
    assert names.count("LengthScorer.score") == 3
    exact = [c for c in trace if op_short(c) == "exact_match"]
    assert sorted(c.output["correct"] for c in exact) == [False, True, True]

    # scorer results are also stored as feedback on each prediction call
    predictions = [c for c in trace if op_short(c) == "Doubler.predict"]
    scored = client.get_calls(
        filter={"call_ids": [c.id for c in predictions]}, scored_by=["exact_match"]
    )
    assert len(scored) == 3
    with_feedback = client.get_calls(
        filter={"call_ids": [predictions[0].id]}, include_feedback=True
    )
    types = {f["feedback_type"] for f in with_feedback[0].summary["weave"]["feedback"]}
    assert types == {"wandb.runnable.exact_match", "wandb.runnable.LengthScorer"}
    correct = {
        "$eq": [
            {"$getField": "feedback.[wandb.runnable.exact_match].payload.output.correct"},
            {"$literal": True},
        ]
    }
    assert (
        len(
            client.get_calls(
                filter={"call_ids": [c.id for c in predictions]}, query={"$expr": correct}
            )
        )
        == 2
    )
    assert [e.name for e in client.get_evaluations()] == [evaluation.name]


def test_evaluation_records_errors_per_row(client: Any) -> None:
    @weave.op
    def flaky(question: str) -> str:
        if question == "b":
            raise RuntimeError("model failed")
        return question * 2

    evaluation = weave.Evaluation(dataset=ROWS, scorers=[exact_match])
    asyncio.run(evaluation.evaluate(flaky))
    client.flush()
    failed = client.get_calls(
        query={"$expr": {"$eq": [{"$getField": "summary.weave.status"}, {"$literal": "error"}]}}
    )
    assert [op_short(c) for c in failed] == ["flaky"]
    (run,) = evaluation.get_evaluate_calls()
    assert run.summary["weave"]["status"] == "descendant_error"
    # get_scores() groups scorer calls by summary.weave.trace_name, which the store derives
    scores = evaluation.get_scores()[run.trace_id]
    assert sorted(s["correct"] for s in scores["exact_match"]) == [False, True]


def test_evaluation_logger(client: Any) -> None:
    logger = weave.EvaluationLogger(model="rules-v1", dataset="letters")
    for row in ROWS:
        pred = logger.log_prediction(inputs={"question": row["question"]}, output=row["question"])
        pred.log_score("exact", row["question"] == row["expected"])
        pred.finish()
    logger.log_summary({"note": "baseline"})
    client.flush()
    roots = list(client.get_calls(filter={"trace_roots_only": True}))
    assert [op_short(c) for c in roots] == ["Evaluation.evaluate"]
    trace = list(client.get_calls(filter={"trace_ids": [roots[0].trace_id]}))
    assert [op_short(c) for c in trace].count("exact") == 3
    assert all(c.ended_at is not None for c in trace)


def test_feedback_on_calls(client: Any) -> None:
    @weave.op
    def reply(text: str) -> str:
        return text[::-1]

    _, call = reply.call("hello")
    _, other = reply.call("bye")
    call.feedback.add_reaction("👍")
    call.feedback.add_note("reads well")
    call.feedback.add("rating", {"stars": 4, "tags": ["clear"]})
    other.feedback.add_reaction("👎")
    client.flush()

    assert [f.payload["emoji"] for f in client.get_feedback(reaction="👍")] == ["👍"]
    assert len(client.get_feedback()) == 4
    stars = {"$expr": {"$gte": [{"$getField": "payload.stars"}, {"$literal": 4}]}}
    (rating,) = client.get_feedback(query=stars)
    assert rating.feedback_type == "rating" and rating.payload["tags"] == ["clear"]
    assert len(client.get_feedback(rating.id)) == 1
    fetched = client.get_call(call.id)
    assert sorted(f.feedback_type for f in fetched.feedback) == [
        "rating",
        "wandb.note.1",
        "wandb.reaction.1",
    ]
    (with_fb,) = client.get_calls(filter={"call_ids": [call.id]}, include_feedback=True)
    notes = [f["payload"] for f in with_fb.summary["weave"]["feedback"]]
    assert {"note": "reads well"} in notes
    fetched.feedback.purge(rating.id)
    assert len(client.get_feedback()) == 3
