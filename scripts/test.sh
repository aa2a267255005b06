#!/usr/bin/env bash
# Run the whole test suite. Where the machine allows (root or unprivileged user namespaces),
# run it inside a fresh network namespace with only loopback up: any attempt to reach the
# internet then fails loudly instead of silently working on a developer's laptop.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/python -m pytest "$@")
export COURSE_TEST_RUN=1
unset WANDB_API_KEY OPENAI_API_KEY COURSE_MODE || true
if unshare -rn true 2>/dev/null; then
  echo "network: blocked (fresh network namespace, loopback only)"
  exec unshare -rn bash -c 'ip link set lo up && exec "$@"' _ "${PYTEST[@]}"
else
  echo "network: NOT blocked (no user namespaces here); the strace test still checks sockets"
  exec "${PYTEST[@]}"
fi
