"""Install the course into a Colab runtime (called by every chapter's setup cell in Colab).

Colab already has torch (with CUDA) and Jupyter; we install the locked versions of everything
else, then the course package itself. Online learners with an OpenAI key never need the local
LLM; without one, the llama.cpp server compiles once (~7 min) and the model is fetched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLAB_PROVIDES = ("torch", "nvidia-", "triton", "jupyter", "ipykernel", "ipython", "notebook")


def main() -> None:
    if (ROOT / ".course-colab-ready").exists():
        print("course packages already installed in this runtime")
        return
    pins = [
        line for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines()
        if line and not line.startswith("#") and not line.lower().startswith(COLAB_PROVIDES)
    ]  # fmt: skip
    if os.environ.get("OPENAI_API_KEY"):
        pins = [
            p
            for p in pins
            if not p.startswith("llama_cpp_python") and not p.startswith("llama-cpp")
        ]
    constraints = ROOT / ".colab-constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-r", str(constraints)], check=True
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(ROOT)], check=True
    )
    if not os.environ.get("OPENAI_API_KEY"):  # no OpenAI: the local LLM answers (compiles once)
        llama = [x for x in (ROOT / "requirements" / "llm.txt").read_text().splitlines()
                 if x and not x.startswith("#")]  # fmt: skip
        env = {**os.environ, "CMAKE_ARGS": "-DGGML_NATIVE=OFF"}
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-cache-dir", *llama],
                       check=True, env=env)  # fmt: skip
        subprocess.run([sys.executable, str(ROOT / "scripts" / "setup_llm.py")], check=True)
    (ROOT / ".course-colab-ready").write_text("ok\n")
    print("course installed; restart is not needed")


if __name__ == "__main__":
    main()
