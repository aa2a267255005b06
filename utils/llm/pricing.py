"""Token prices, so Weave's cost columns mean something in both modes.

Weave turns token usage into dollars with a per-project price table. W&B's cloud knows OpenAI's
prices; the course's local Weave store knows none, and nobody sells tokens of a model running on
your laptop. So we register prices ourselves with `register_costs(client)`.

The local model's price is ILLUSTRATIVE: it is set to what the course's online default
(gpt-4o-mini) charges, so the cost views show what the same traffic would cost online. It is
not what running the model costs you (that is electricity). The OpenAI rows are OpenAI's list
prices per token in USD (standard tier, as of 2025; check openai.com/api/pricing before
quoting them). Both OpenAI's plain names and the dated snapshot names that its responses report
are listed, because Weave matches costs on the model name found in each response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from utils.llm.server import MODEL_ALIAS

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """USD per token (Weave's unit), built from the per-million prices vendors publish."""

    prompt: float
    completion: float
    illustrative: bool = False

    @classmethod
    def per_million(cls, prompt: float, completion: float, illustrative: bool = False) -> Price:
        return cls(prompt / PER_MILLION, completion / PER_MILLION, illustrative)


_GPT_4O_MINI = Price.per_million(0.15, 0.60)
_GPT_4O = Price.per_million(2.50, 10.00)
_GPT_41 = Price.per_million(2.00, 8.00)
_GPT_41_MINI = Price.per_million(0.40, 1.60)
_GPT_41_NANO = Price.per_million(0.10, 0.40)

PRICES: dict[str, Price] = {
    MODEL_ALIAS: Price(_GPT_4O_MINI.prompt, _GPT_4O_MINI.completion, illustrative=True),
    "gpt-4o-mini": _GPT_4O_MINI,
    "gpt-4o-mini-2024-07-18": _GPT_4O_MINI,
    "gpt-4o": _GPT_4O,
    "gpt-4o-2024-08-06": _GPT_4O,
    "gpt-4.1": _GPT_41,
    "gpt-4.1-2025-04-14": _GPT_41,
    "gpt-4.1-mini": _GPT_41_MINI,
    "gpt-4.1-mini-2025-04-14": _GPT_41_MINI,
    "gpt-4.1-nano": _GPT_41_NANO,
    "gpt-4.1-nano-2025-04-14": _GPT_41_NANO,
}


def note() -> str:
    """A line notebooks print next to any cost figure, so nobody mistakes it for a bill."""
    return (
        f"Costs for the local model ({MODEL_ALIAS}) are illustrative: priced like gpt-4o-mini "
        f"(${_GPT_4O_MINI.prompt * PER_MILLION:.2f} / ${_GPT_4O_MINI.completion * PER_MILLION:.2f}"
        " per million prompt / completion tokens) to show what the same traffic would cost "
        "online. Running it locally costs nothing per token."
    )


def cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """USD for one call, from the table (KeyError for an unknown model)."""
    price = PRICES[model]
    return prompt_tokens * price.prompt + completion_tokens * price.completion


def _already_priced(client: Any, llm_id: str, price: Price) -> bool:
    """True if the project already holds this exact price (so reruns don't pile up rows)."""
    try:
        rows = client.query_costs(llm_ids=[llm_id])
    except Exception:  # a store without cost queries: just add
        return False
    return any(
        _close(getattr(row, "prompt_token_cost", None), price.prompt)
        and _close(getattr(row, "completion_token_cost", None), price.completion)
        for row in rows
    )


def _close(value: float | None, expected: float) -> bool:
    return value is not None and abs(value - expected) <= 1e-12 * max(1.0, abs(expected))


def register_costs(client: Any, models: list[str] | None = None) -> list[str]:
    """Add the table's prices (or those of `models`) to a Weave client's project.

    Idempotent: a model already priced identically is skipped. Returns the llm_ids added.
    """
    added = []
    for llm_id in models if models is not None else list(PRICES):
        price = PRICES[llm_id]
        if _already_priced(client, llm_id, price):
            continue
        client.add_cost(
            llm_id=llm_id,
            prompt_token_cost=price.prompt,
            completion_token_cost=price.completion,
        )
        added.append(llm_id)
    return added
