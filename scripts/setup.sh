#!/usr/bin/env bash
# Set up the course on a fresh machine: a venv with the pinned packages, the llama.cpp server
# (compiled once, then served from pip's wheel cache), and the verified local model.
# Idempotent: a second run checks stamps and returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "the course pins Python 3.11"' \
  || { echo "Python 3.11 is required (set PYTHON=/path/to/python3.11)"; exit 1; }

# strace proves the no-network promise in the tests; install it if we can (root, Debian).
if ! command -v strace >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq strace) >/dev/null 2>&1 || echo "note: strace not installed"
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.course-lock.sha256
want=$(cat requirements/lock.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  start=$(date +%s)
  .venv/bin/python -m pip install -q --upgrade pip
  # torch is pinned to the local CPU wheel in the lock.
  .venv/bin/python -m pip install -q -r requirements/lock.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
  echo "packages installed in $(( $(date +%s) - start ))s"
else
  echo "packages: up to date"
fi

# The llama.cpp server: compiled once (~7 min on 2 cores), portable flags (see requirements/llm.txt).
llama_pin=$(grep -E '^llama-cpp-python' requirements/llm.txt)
llama_version=${llama_pin##*==}
if [ "$(.venv/bin/python -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null)" != "$llama_version" ]; then
  start=$(date +%s)
  CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
    .venv/bin/python -m pip install -q --no-cache-dir -c requirements/lock.txt "$llama_pin"
  echo "llama-cpp-python compiled in $(( $(date +%s) - start ))s"
else
  echo "llama-cpp-python: up to date"
fi
.venv/bin/python scripts/setup_llm.py
