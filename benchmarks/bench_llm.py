"""How fast is the course's local LLM, and what does the server cost on top of llama.cpp itself?

    python benchmarks/bench_llm.py [--tokens 96] [--runs 3]

Measures, on the machine it runs on:
- server ready time: a cold start of a second server on a spare port (the shared one on the
  course port is left alone), and the time to find an already running one;
- time to first token and decode speed, streamed through the HTTP server with the openai client,
  versus the same model and settings in-process via `llama_cpp.Llama` (goal: server within 10%);
- embedding throughput of all-MiniLM-L6-v2 (sentences per second).

Streaming chunks are counted as tokens (llama-cpp-python emits one token per chunk). Each run
uses a different prompt prefix so llama.cpp's prompt cache cannot flatter a repeat, and server and
in-process runs alternate so both see the same background load. Other work on
the machine skews every number here: with 2 cores, run it on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from utils.llm import clients, server
from utils.llm import model as llm_model

TASK = "Write a Python function that checks whether a string is a palindrome, with a docstring."


@dataclass
class Run:
    ttft_s: float  # request sent -> first content token
    tokens: int
    decode_tok_s: float  # tokens after the first / time after the first


def _measure(chunks: Iterable[str]) -> Run:
    t0 = time.perf_counter()
    first = last = None
    n = 0
    for piece in chunks:
        if not piece:
            continue
        now = time.perf_counter()
        first = first or now
        last = now
        n += 1
    if first is None or last is None or n < 2:
        raise RuntimeError("the model produced fewer than 2 tokens; nothing to time")
    return Run(first - t0, n, (n - 1) / (last - first))


def _messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Request #{i}. {TASK}"}]


def start_server(port: int) -> tuple[float, float, str]:
    """Cold start on a spare port, then the cost of finding it again; returns (cold, warm, url)."""
    t0 = time.perf_counter()
    info = server.ensure_running(port, log=lambda _: None)
    cold = time.perf_counter() - t0
    t1 = time.perf_counter()
    server.ensure_running(port, log=lambda _: None)
    return cold, time.perf_counter() - t1, info.base_url


def server_stream(base_url: str, tokens: int) -> Callable[[int], Iterable[str]]:
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key=clients.LOCAL_API_KEY)

    def stream(i: int) -> Iterable[str]:
        chunks: Iterable[Any] = client.chat.completions.create(
            model=server.MODEL_ALIAS,
            messages=_messages(i),  # type: ignore[arg-type]
            max_tokens=tokens,
            temperature=0,
            stream=True,
        )
        for c in chunks:
            if c.choices:
                yield c.choices[0].delta.content or ""

    return stream


def inprocess_stream(tokens: int) -> tuple[float, Callable[[int], Iterable[str]]]:
    """Load the same model with the server's settings; returns (load seconds, stream)."""
    from llama_cpp import Llama

    t0 = time.perf_counter()
    llm = Llama(
        str(llm_model.ensure_model(download=False)),
        n_ctx=server.N_CTX,
        n_threads=server.threads(),
        n_threads_batch=server.threads(),
        verbose=False,
    )
    load = time.perf_counter() - t0

    def stream(i: int) -> Iterable[str]:
        chunks: Iterable[Any] = llm.create_chat_completion(
            messages=_messages(i),  # type: ignore[arg-type]
            max_tokens=tokens,
            temperature=0,
            stream=True,
        )
        for c in chunks:
            yield c["choices"][0]["delta"].get("content") or ""

    return load, stream


def bench_embeddings(n: int = 256) -> tuple[float, float]:
    t0 = time.perf_counter()
    model = clients.sentence_embedder()
    load = time.perf_counter() - t0
    sentences = [
        f"Sentence {i}: traces, evaluations and datasets live in project {i % 13}."
        for i in range(n)
    ]
    model.encode(sentences[:32], batch_size=32)  # warm-up
    t1 = time.perf_counter()
    model.encode(sentences, batch_size=32)
    return load, n / (time.perf_counter() - t1)


def _spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tokens", type=int, default=96, help="max tokens per answer")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per side (after warm-up)")
    args = parser.parse_args(argv)
    for name, value in server.SERVER_ENV.items():  # in-process gets the server's environment
        os.environ.setdefault(name, value)  # (read when llama_cpp loads, so set it first)

    port = _spare_port()
    print(f"{args.runs} runs x {args.tokens} tokens per side, alternating ...", flush=True)
    srv: list[Run] = []
    inproc: list[Run] = []
    try:
        cold, warm, url = start_server(port)
        load, local_stream = inprocess_stream(args.tokens)
        remote_stream = server_stream(url, args.tokens)
        _measure(remote_stream(0))  # warm-up: the first request pays for page-ins
        _measure(local_stream(0))
        # Alternate, so both sides see the same background load (2 shared cores are noisy).
        for i in range(1, args.runs + 1):
            srv.append(_measure(remote_stream(i)))
            inproc.append(_measure(local_stream(i)))
    finally:
        server.stop(port)
        server.log_path(port).unlink(missing_ok=True)  # a throwaway port's log
    print("embeddings ...", flush=True)
    emb_load, emb_rate = bench_embeddings()

    def med(runs: list[Run], attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs)

    s_tps, i_tps = med(srv, "decode_tok_s"), med(inproc, "decode_tok_s")
    s_ttft, i_ttft = med(srv, "ttft_s"), med(inproc, "ttft_s")
    rows = [
        ("decode speed (tok/s, median)", f"{s_tps:.1f}", f"{i_tps:.1f}", f"{s_tps / i_tps:.0%}"),
        ("time to first token (s)", f"{s_ttft:.2f}", f"{i_ttft:.2f}", f"{s_ttft / i_ttft:.0%}"),
        ("tokens per answer (median)", f"{med(srv, 'tokens'):.0f}", f"{med(inproc, 'tokens'):.0f}", ""),
        ("ready: cold start / model load (s)", f"{cold:.1f}", f"{load:.1f}", ""),
        ("ready: reuse running server (s)", f"{warm:.3f}", "", ""),
        ("embeddings (sentences/s)", f"{emb_rate:.0f}", "", f"load {emb_load:.1f}s"),
    ]  # fmt: skip
    head = ("metric", "server", "in-process", "server/in-proc")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(4)]
    for i, row in enumerate([head, *rows]):
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    within = s_tps >= 0.9 * i_tps
    print(f"\nserver decode within 10% of in-process: {'yes' if within else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
