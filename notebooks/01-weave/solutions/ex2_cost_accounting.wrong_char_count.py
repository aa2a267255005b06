# Wrong: counts characters, not words, as tokens.
@weave.op
def keyword_answer(question: str) -> dict:
    """{"answer": ..., "model": "bm25-titles", "usage": {prompt/completion/total tokens}}"""
    answer = bm25.search(question, 1)[0].chunk.title
    usage = {"prompt_tokens": len(question), "completion_tokens": len(answer)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return {"answer": answer, "model": "bm25-titles", "usage": usage}


def price_keyword_model(client) -> None:
    """Register a per-token price for "bm25-titles" with client.add_cost."""
    client.add_cost(llm_id="bm25-titles", prompt_token_cost=1e-7, completion_token_cost=2e-7)
