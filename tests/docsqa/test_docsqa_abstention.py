"""The abstention detector on the phrasings the local model actually produces, and on answers
that merely contain a negation (which must stay answers)."""

from __future__ import annotations

import pytest

from utils.docsqa.abstention import classify, is_abstention, is_refusal_sentence, sentences


@pytest.mark.parametrize(
    "text",
    [
        "I don't know.",
        "I don’t know.",
        "i do not know",
        "I don't know. [weave-ops]",
        "The course notes do not contain the answer.",
        "The notes don't mention a founder.",
        "The provided notes do not specify the default learning rate.",
        "The context does not explicitly mention Helm.",
        "This is not mentioned in the course notes.",
        "Not in the notes.",
        "There is no information about SageMaker in the notes.",
        "No information about pricing is given.",
        "I cannot answer this question from the notes provided.",
        "I'm sorry, but I can't help with that.",
        "This question cannot be answered from the notes.",
        "",
        "   ",
        "[weave-ops]",
    ],
)
def test_refusals_are_abstentions(text: str) -> None:
    assert is_abstention(text), text
    assert classify(text).kind == "refusal"


def test_trailing_refusal_after_a_made_up_answer_counts() -> None:
    text = "W&B was founded in 2017 by Lukas Biewald. I don't know."
    assert classify(text).kind == "trailing" and is_abstention(text)


def test_leading_refusal_then_memory_counts() -> None:
    text = "The notes do not say. In general, Helm charts are installed with helm install."
    assert classify(text).kind == "leading" and is_abstention(text)


def test_refusal_in_the_middle_is_a_hedged_answer() -> None:
    text = (
        "Files go to ./artifacts by default. The notes do not give the exact folder name. "
        "Pass root= to choose another place."
    )
    assert classify(text).kind == "hedged" and not is_abstention(text)


@pytest.mark.parametrize(
    "text",
    [
        "No. Resuming does not restore your model weights; load your own checkpoint.",
        "Linking does not copy files: it is a pointer [registry-linking].",
        "Disabled mode keeps nothing, there is no run folder to sync.",
        "Use wandb sync; you do not need internet while training.",
        "Logging a table twice does not append rows.",
        "The notes say to call run.finish() [wandb-runs].",
        "You are able to answer questions about runs with the API.",
        "I know: use wandb sync [wandb-offline-mode].",
    ],
)
def test_answers_with_negations_are_not_abstentions(text: str) -> None:
    assert not is_abstention(text), text
    assert classify(text).kind == "answer"


def test_sentences_drop_citation_only_pieces() -> None:
    assert sentences("An op records calls. [weave-ops]\n\n[weave-calls]") == [
        "An op records calls."
    ]
    assert is_refusal_sentence("The documentation doesn't cover Okta.")
    assert not is_refusal_sentence("The documentation covers Okta.")
