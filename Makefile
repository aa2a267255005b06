# The course in two commands (see README):
#   make course   set up, then execute every notebook headless (local mode unless you have keys)
#   make test     set up, then run the test suite (network-blocked where the machine allows)
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: setup course test lint clean

setup:
	bash scripts/setup.sh

course: setup
	$(PY) -m utils.harness --profile full

test: setup
	bash scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/nbqa ruff notebooks

clean:  ## forget all generated state (runs, traces, executed notebooks, model cache)
	rm -rf .course
