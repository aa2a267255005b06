# The course in two commands (see README):
#   make course   set up, then execute every notebook headless (local mode unless you have keys)
#   make test     set up, then run the test suite (network-blocked where the machine allows)
# and one to work in:
#   make lab      set up, then open JupyterLab on the course (also as root, e.g. in containers)
SHELL := /bin/bash
PY := .venv/bin/python
# Jupyter refuses to start as root unless told; containers and workshop VMs often run as root.
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup course test lab lint clean

setup:
	bash scripts/setup.sh

course: setup
	$(PY) -m utils.harness --profile full

test: setup
	bash scripts/test.sh

lab: setup
	.venv/bin/jupyter lab $(LAB_ROOT_FLAG) $(LAB_ARGS)

lint:
	.venv/bin/ruff check . && .venv/bin/nbqa ruff notebooks

clean:  ## forget all generated state (runs, traces, executed notebooks, model cache)
	rm -rf .course executed
