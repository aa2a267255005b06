#!/usr/bin/env bash
# Choose the course's one environment, `.venv`, and make sure its Python is 3.11 or 3.12:
# - it exists: keep it;
# - a conda environment (not `base`) is active: `.venv` becomes a symlink to it, so conda users
#   get everything (packages, llama.cpp, model) in the environment they activate;
# - otherwise: a new venv from $PYTHON, or the first of python3.11, python3.12, python3 that is
#   a supported version.
# Called by scripts/setup.sh; a script of its own so the tests can run this choice alone.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs the interpreter instead of trusting `command -v`: pyenv shims exist for versions that
# are not selected, and fail only when run.
supported() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' 2>/dev/null; }

if [ ! -e .venv ] && [ ! -L .venv ] && [ -n "${CONDA_PREFIX:-}" ] \
    && [ "${CONDA_DEFAULT_ENV:-base}" != base ]; then
  supported "$CONDA_PREFIX/bin/python" || {
    echo "ERROR: the active conda environment ($CONDA_DEFAULT_ENV) does not have Python 3.11 or 3.12;" \
      "create it with: conda env create -f environment.yml"; exit 1; }
  ln -s "$CONDA_PREFIX" .venv
  echo "environment: the active conda environment '$CONDA_DEFAULT_ENV' (.venv links to it)"
fi

if [ ! -x .venv/bin/python ]; then
  if [ -z "${PYTHON:-}" ]; then
    for candidate in python3.11 python3.12 python3; do
      if supported "$candidate"; then PYTHON=$candidate; break; fi
    done
  fi
  supported "${PYTHON:-python3}" || {
    echo "ERROR: the course needs Python 3.11 or 3.12 (found: $(python3 --version 2>&1))." \
      "Install one, or point PYTHON=/path/to/python3.11 at it."; exit 1; }
  "$PYTHON" -m venv .venv || {
    echo "ERROR: could not create .venv (Debian/Ubuntu: apt install python3-venv)"; exit 1; }
  echo "environment: .venv ($(.venv/bin/python --version))"
fi
supported .venv/bin/python || {
  echo "ERROR: .venv has $(.venv/bin/python --version 2>&1); the course needs 3.11 or 3.12." \
    "Remove .venv and run the setup again (PYTHON=/path/to/python3.11 to choose)."; exit 1; }

