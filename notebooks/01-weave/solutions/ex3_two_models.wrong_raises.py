# expect: KeyError
# Wrong: reads a key keyword_answer does not return. The check must show your KeyError as it is,
# not a confusing error of its own (op.call() would hand back (None, call) and hide it).
@weave.op
def race(question: str) -> dict:
    reply = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"Answer in a few words: {question}"}],
        max_tokens=16,
        temperature=0,
    )
    return {"llm": reply.choices[0].message.content, "keyword": keyword_answer(question)["text"]}


def child_latencies(call) -> dict:
    children = tracing.calls_frame(client.get_calls(filter={"parent_ids": [call.id]}))
    return dict(zip(children["op"], children["latency_ms"], strict=True))
