"""Judges: verdict parsing, the deterministic judges, and the LLM judge with a fake client."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from utils.docsqa.evalset import IDK, EvalItem
from utils.docsqa.judges import (
    JUDGE_PROMPT,
    key_fact_judge,
    llm_judge,
    parse_verdict,
    token_recall_judge,
)

ITEM = EvalItem(
    "t1",
    "Which alias is maintained automatically?",
    "latest, which always points to the most recently logged version.",
    ("artifacts-aliases",),
    "factual",
    key_facts=("latest",),
)
UNANSWERABLE = EvalItem("t2", "Who founded W&B?", IDK, (), "unanswerable")


class FakeJudge:
    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def _create(self, **kw: Any) -> Any:
        self.prompts.append(kw["messages"][0]["content"])
        assert kw["temperature"] == 0.0 and kw["max_tokens"] <= 8
        msg = SimpleNamespace(content=self.reply)
        return SimpleNamespace(choices=[SimpleNamespace(message=msg)])


@pytest.mark.parametrize(
    "reply, verdict",
    [
        ("CORRECT", True),
        ("correct.", True),
        ("**CORRECT**", True),
        ("INCORRECT", False),
        ("Incorrect", False),
        ("", False),
        ("The answer is correct", False),
    ],
)
def test_parse_verdict(reply: str, verdict: bool) -> None:
    assert parse_verdict(reply) is verdict


def test_deterministic_judges() -> None:
    assert key_fact_judge(ITEM, "It is latest [artifacts-aliases].")
    assert not key_fact_judge(ITEM, "It is best.")
    assert token_recall_judge(ITEM, "latest always points to the most recently logged version")
    assert not token_recall_judge(ITEM, "latest")  # 1 of 8 reference words
    assert token_recall_judge(ITEM, "latest", threshold=0.1)
    assert key_fact_judge(UNANSWERABLE, IDK) and token_recall_judge(UNANSWERABLE, IDK)
    assert not key_fact_judge(UNANSWERABLE, "Lukas Biewald, in 2017.")


def test_llm_judge_asks_only_about_real_answers() -> None:
    judge = FakeJudge("CORRECT")
    assert llm_judge(UNANSWERABLE, IDK, judge, "m") and judge.prompts == []  # rule, no call
    assert not llm_judge(ITEM, "I don't know.", judge, "m") and judge.prompts == []
    # a made-up answer to an unanswerable question goes to the judge, which may accept it
    assert llm_judge(UNANSWERABLE, "Lukas Biewald, in 2017.", judge, "m")
    assert "Lukas Biewald" in judge.prompts[0] and IDK in judge.prompts[0]
    assert not llm_judge(ITEM, "It is best.", FakeJudge("INCORRECT"), "m")
    assert "{answer}" in JUDGE_PROMPT and "CORRECT or INCORRECT" in JUDGE_PROMPT
