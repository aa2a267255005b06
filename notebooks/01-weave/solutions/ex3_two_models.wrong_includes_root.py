# Wrong: reads the whole trace, so the race call itself is counted as a child.
@weave.op
def race(question: str) -> dict:
    reply = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"Answer in a few words: {question}"}],
        max_tokens=16,
        temperature=0,
    )
    return {"llm": reply.choices[0].message.content, "keyword": keyword_answer(question)["answer"]}


def child_latencies(call) -> dict:
    calls = tracing.calls_frame(client.get_calls(filter={"trace_ids": [call.trace_id]}))
    return dict(zip(calls["op"], calls["latency_ms"], strict=True))
