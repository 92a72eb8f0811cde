# Build / test entry points for the tickstack.kapacitor collection.
#
#   make test         full suite (.ci/test-suite): sanity, units, simulator, functional,
#                     2.18 and 2.21 sanity+units+functional, ansible-lint, changelog/docs lint,
#                     molecule, build+install+ansible-doc+smoke, ansible-builder introspect
#   make sanity | units | lint | functional | molecule   one step
#   make demo         run tests/demo/demo.sh against the checkout (symlinked collection)
#   make bench        run tests/benchmark/bench.py (extra arguments: BENCH_ARGS=--quick)
#   make venv         tool venv (ansible-core 2.19, Python 3.11) from .ci/requirements.txt
#   make venv-2.18    ansible-core 2.18 venv on Python 3.11 from .ci/requirements-2.18.txt
#   make venv-2.21    ansible-core 2.21 venv on Python 3.12 from .ci/requirements-2.21.txt
#   make clean        remove $(KAPACITOR_WORK) and in-tree test output
#
# Everything is built outside the checkout, under $(KAPACITOR_WORK)
# (default $${TMPDIR:-/tmp}/tickstack-kapacitor).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
KAPACITOR_WORK ?= $(or $(TMPDIR),/tmp)/tickstack-kapacitor
VENV ?= $(KAPACITOR_WORK)/venv
VENV218 ?= $(KAPACITOR_WORK)/venv-2.18
VENV221 ?= $(KAPACITOR_WORK)/venv-2.21
LINK ?= $(KAPACITOR_WORK)/link
# Interpreters: real binaries, never pyenv shims of a non-global version (those fail).
PYTHON311 ?= $(shell bash '$(ROOT)/.ci/test-suite' --find-python 3.11)
PYTHON312 ?= $(shell bash '$(ROOT)/.ci/test-suite' --find-python 3.12)

SUITE = KAPACITOR_WORK='$(KAPACITOR_WORK)' VENV='$(VENV)' VENV218='$(VENV218)' VENV221='$(VENV221)' PYTHON312='$(PYTHON312)' \
	bash '$(ROOT)/.ci/test-suite'

# Environment for running playbooks against the checkout itself (demo, bench).
RUN_ENV = KAPACITOR_PY='$(VENV)/bin/python' \
	ANSIBLE_COLLECTIONS_PATH='$(LINK)' \
	ANSIBLE_HOME='$(KAPACITOR_WORK)/ansible-home' \
	ANSIBLE_PYTHON_INTERPRETER='$(VENV)/bin/python' \
	PATH='$(VENV)/bin':"$$PATH"

# $(call build_venv,<venv dir>,<python>,<requirements file>[,<message if no python>]): (re)build only when the
# requirements file differs from the copy kept inside the venv (written last, so an
# interrupted build is redone).  pip's local-index noise is filtered out.
define build_venv
	@v='$(1)'; py='$(2)'; req='$(3)'; \
	if [ -x "$$v/bin/python" ] && cmp -s "$$req" "$$v/requirements.txt"; then \
		echo "venv $$v is up to date"; exit 0; fi; \
	if [ -z "$$py" ]; then \
		if [ -n '$(4)' ]; then echo '$(4)'; exit 0; fi; \
		echo "no suitable Python found for $$v" >&2; exit 1; fi; \
	echo "building venv $$v with $$py from $${req#$(ROOT)/}"; \
	start=$$SECONDS; \
	rm -rf "$$v"; mkdir -p "$$(dirname "$$v")"; \
	"$$py" -m venv "$$v"; \
	"$$v/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$$req" 2>&1 \
		| { grep -Ev "^WARNING: Location '.*' is ignored|^Looking in (indexes|links):" || true; }; \
	cp "$$req" "$$v/requirements.txt"; \
	echo "venv $$v built in $$((SECONDS - start))s"
endef

.PHONY: help venv venv-2.18 venv-2.21 test sanity units lint functional molecule demo bench link clean

help:
	@sed -n '2,16p' '$(ROOT)/Makefile' | sed 's/^# \{0,1\}//'

venv:
	$(call build_venv,$(VENV),$(PYTHON311),$(ROOT)/.ci/requirements.txt)

venv-2.18:
	$(call build_venv,$(VENV218),$(PYTHON311),$(ROOT)/.ci/requirements-2.18.txt)

venv-2.21:
	$(call build_venv,$(VENV221),$(PYTHON312),$(ROOT)/.ci/requirements-2.21.txt,SKIP: Python 3.12 not found; venv-2.21 not built)

test: venv
	@$(SUITE)

sanity: venv
	@$(SUITE) sanity

units: venv
	@$(SUITE) units

lint: venv
	@$(SUITE) ansible-lint changelog-lint docs-lint

functional: venv
	@$(SUITE) functional

molecule: venv
	@$(SUITE) molecule

# ansible-playbook follows a symlinked collection (only ansible-test needs a physical copy).
link:
	@mkdir -p '$(LINK)/ansible_collections/tickstack'
	@ln -sfn '$(ROOT)' '$(LINK)/ansible_collections/tickstack/kapacitor'

demo: venv link
	@mkdir -p '$(KAPACITOR_WORK)/ansible-home'
	cd '$(ROOT)' && $(RUN_ENV) bash tests/demo/demo.sh

bench: venv link
	@mkdir -p '$(KAPACITOR_WORK)/ansible-home'
	cd '$(ROOT)' && $(RUN_ENV) '$(VENV)/bin/python' tests/benchmark/bench.py $(BENCH_ARGS)

clean:
	rm -rf '$(KAPACITOR_WORK)' '$(ROOT)/tests/output' '$(ROOT)/changelogs/.plugin-cache.yaml'
