# Entry points of the tickstack.kapacitor collection; `make help` lists them with the real paths.
# The targets are thin: .ci/test-suite runs the test steps, .ci/lib.sh builds the venvs and chooses
# the work dir (one per checkout, outside it). Variables given on the command line (KAPACITOR_WORK,
# VENV, VENV218, VENV221, VENVDEMO, PYTHON311, PYTHON312) reach both through the environment.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
LIB := bash '$(ROOT)/.ci/lib.sh'
SUITE := bash '$(ROOT)/.ci/test-suite'

.PHONY: help test sanity units functional simulator lint molecule venv demo bench clean

help: ## this list, then the work dir and venvs the targets use
	@awk 'BEGIN { FS = ":[^#]*## " } /^[a-z][a-z0-9%.-]*:.*## / { gsub(/%/, "<line>", $$1); printf "  make %-18s %s\n", $$1, $$2 }' '$(ROOT)/Makefile'
	@$(LIB) where

test: ## every step on every ansible-core line: what CI runs (.ci/run)
	@$(SUITE)

sanity: ## ansible-test sanity on the tool line
	@$(SUITE) $@

units: ## ansible-test units on the tool line
	@$(SUITE) $@

functional: ## the modules and the role against the simulator, on the tool line
	@$(SUITE) $@

sanity-%: ## ansible-test sanity on another ansible-core line, e.g. make sanity-2.18
	@$(SUITE) $@

units-%: ## ansible-test units on another line
	@$(SUITE) $@

functional-%: ## the functional tests on another line
	@$(SUITE) $@

simulator: ## the simulator's own tests
	@$(SUITE) $@

lint: ## ruff, ansible-lint, changelog and docs lint
	@$(SUITE) ruff ansible-lint changelog-lint docs-lint

molecule: ## molecule test of extensions/molecule
	@$(SUITE) $@

venv: ## build the tool venv (only when its requirements file changed)
	@$(LIB) venv

venv-%: ## build the venv of another line, e.g. make venv-2.21 (or venv-demo)
	@$(LIB) venv $*

demo: ## the role against the simulator, with a venv of ansible-core and urllib3 only
	@$(LIB) demo

bench: ## the benchmark (tests/benchmark/bench.py; extra arguments: BENCH_ARGS=--quick)
	@$(LIB) bench $(BENCH_ARGS)

clean: ## remove the work dir and in-tree test output
	@$(LIB) clean
