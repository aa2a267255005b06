# Wrong: calls both models but returns only the LLM's answer.
@weave.op
def race(question: str) -> dict:
    reply = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"Answer in a few words: {question}"}],
        max_tokens=16,
        temperature=0,
    )
    keyword_answer(question)
    return {"llm": reply.choices[0].message.content}


def child_latencies(call) -> dict:
    children = tracing.calls_frame(client.get_calls(filter={"parent_ids": [call.id]}))
    return dict(zip(children["op"], children["latency_ms"], strict=True))
