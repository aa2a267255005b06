@weave.op
def race(question: str) -> dict:
    llm_reply = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"Answer in a few words: {question}"}],
        max_tokens=16,
        temperature=0,
    )
    return {
        "llm": llm_reply.choices[0].message.content,
        "keyword": keyword_answer(question)["answer"],
    }


def child_latencies(call) -> dict:
    children = tracing.calls_frame(client.get_calls(filter={"parent_ids": [call.id]}))
    return dict(zip(children["op"], children["latency_ms"], strict=True))
