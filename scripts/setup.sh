#!/usr/bin/env bash
# Set up the course: one environment with the pinned packages, the llama.cpp server (compiled
# once) and the verified local model. Idempotent: a second run checks stamps and returns in
# seconds.
#
# The environment is `.venv`: a venv made here with Python 3.11 or 3.12 or, when a conda
# environment is active and `.venv` does not exist yet, that conda environment (`.venv` is then
# a symlink to it, so the Makefile, the tests and `make lab` all use it). Prerequisites: see
# the README.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/course_env.sh

# strace proves the no-network promise in the tests; install it if we can (root, Debian).
if ! command -v strace >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq strace) >/dev/null 2>&1 || echo "note: strace not installed"
fi

stamp=.venv/.course-lock.sha256
want=$(cat requirements/lock.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  free_kb=$(df -Pk . | awk 'NR == 2 {print $4}')
  if [ "${free_kb:-0}" -lt $((5 * 1024 * 1024)) ]; then
    echo "WARNING: $((free_kb / 1024)) MB free here; a first setup needs about 5 GB (README, 'Before you start')."
  fi
  start=$(date +%s)
  echo "installing the pinned packages (requirements/lock.txt) ..."
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first, alone: the CPU build, from pip's sources or PyTorch's CPU index (see there).
  .venv/bin/python scripts/install_torch.py
  .venv/bin/python -m pip install -q -r requirements/lock.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
  echo "packages installed in $(( $(date +%s) - start ))s"
else
  echo "packages: up to date"
fi

# Notebook outputs never reach a commit: a pre-commit hook checks staged notebooks with
# `scripts/nbtools.py clean` (see scripts/git-hooks/pre-commit). Only inside a git checkout.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git config core.hooksPath scripts/git-hooks
fi

# The llama.cpp server: compiled once, portable flags, constrained by the lock (see the script).
.venv/bin/python scripts/build_llama.py
.venv/bin/python scripts/setup_llm.py
