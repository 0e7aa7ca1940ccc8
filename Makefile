# The two commands of the README:
#   make book   execute every notebook (real experiments) and build the HTML book into _build/html
#   make test   everything CI checks: lint, unit tests, notebooks in fast mode, strict book build,
#               browser tests
# Both set up what they need first: system packages, .venv, the book's JavaScript.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAGE := _stage
HTML := _build/html
NOTEBOOKS := $(wildcard book/*.ipynb)
# Seconds one notebook may run before nbmake fails it (fast mode needs far less).
NOTEBOOK_TIMEOUT ?= 3600

.PHONY: help setup system venv vendor lint unit stage execute html browser book test lab results clean distclean

help:
	@echo "make book      execute every notebook and build the HTML book into $(HTML)"
	@echo "make test      lint, unit tests, notebooks (fast mode), strict book build, browser tests"
	@echo "make lab       open the notebooks in JupyterLab"
	@echo "make results   train chapter 8's models (hours; stop any time, run again to continue)"
	@echo "make clean     remove build outputs (keeps .venv); make distclean also removes .venv"

# ---------------------------------------------------------------- set-up
system:
	@bash scripts/system_deps.sh $(SYSTEM_NEEDS)

$(BIN)/python:
	@bash scripts/check_python.sh $(PYTHON)
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-peers.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -r requirements-peers.txt
	touch $@

venv: $(VENV)/.installed

_vendor/.complete: $(VENV)/.installed scripts/vendor_assets.py
	$(BIN)/python scripts/vendor_assets.py _vendor
	touch $@

vendor: _vendor/.complete

setup: system venv vendor

# ---------------------------------------------------------------- checks
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: venv
	NODELIB_FAST=1 NODELIB_DATASET=fashion-mnist $(BIN)/pytest -p no:cacheprovider -m "not browser" tests

# ---------------------------------------------------------------- the book
# Notebooks are committed without outputs. They are executed exactly once per build, by
# nbmake, on a staged copy of the book; Jupyter Book then renders those outputs without
# executing anything (execute_notebooks: off in _config.yml).
stage: vendor
	rm -rf $(STAGE)
	mkdir -p $(STAGE)/benchmarks
	cp -a _config.yml _toc.yml references.bib book _ext _vendor $(STAGE)/
	if [ -d results ]; then cp -a results $(STAGE)/; fi
	if [ -d benchmarks/results ]; then cp -a benchmarks/results $(STAGE)/benchmarks/; fi

execute: stage
	$(BIN)/pytest -p no:cacheprovider --nbmake --overwrite --nbmake-timeout=$(NOTEBOOK_TIMEOUT) \
		--durations=0 $(STAGE)/book/*.ipynb

html:
	rm -rf $(HTML)
	$(BIN)/jupyter-book build $(STAGE) --path-output . --builder html -W -n --keep-going
	@echo "The book: $(CURDIR)/$(HTML)/index.html"

browser:
	NODELIB_FAST=1 $(BIN)/pytest -p no:cacheprovider -m browser tests

# The real experiments; MNIST when it can be downloaded, else Fashion-MNIST.
book: export NODELIB_DATASET ?= auto
book: SYSTEM_NEEDS = book
book: setup
	$(MAKE) execute html

test: export NODELIB_FAST = 1
test: export NODELIB_DATASET = fashion-mnist
test: SYSTEM_NEEDS = book test
test: setup
	$(MAKE) lint unit
	$(MAKE) execute NOTEBOOK_TIMEOUT=300
	$(MAKE) html
	$(MAKE) browser

lab: SYSTEM_NEEDS = lab
lab: setup
	$(BIN)/jupyter lab book/

# Chapter 8's comparison of image classifiers: every model for 5 epochs, 3 seeds where it
# takes minutes (hours in all). Stop it any time; the same command continues the runs.
results: DATASET ?= auto
results: JOBS ?= 2
results: venv
	$(BIN)/python -m nodelib.experiments.suite --dataset $(DATASET) --jobs $(JOBS)

clean:
	rm -rf _build _stage _vendor test-artifacts .pytest_cache .ruff_cache

distclean: clean
	rm -rf $(VENV)
