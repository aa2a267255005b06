@weave.op
def keyword_answer(question: str) -> dict:
    """{"answer": ..., "model": "bm25-titles", "usage": {prompt/completion/total tokens}}"""
    top = bm25.search(question, 1)[0]
    answer = top.chunk.title
    prompt_tokens, completion_tokens = len(question.split()), len(answer.split())
    return {
        "answer": answer,
        "model": "bm25-titles",
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def price_keyword_model(client) -> None:
    """Register a per-token price for "bm25-titles" with client.add_cost."""
    client.add_cost(llm_id="bm25-titles", prompt_token_cost=1e-7, completion_token_cost=2e-7)
