# openwit: `make demo` runs the whole flow offline; `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.openwit-installed
WORDNET_DIR ?= /usr/share/wordnet
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: setup wordnet test test-all lint demo bench clean

setup: $(STAMP) wordnet

$(STAMP): pyproject.toml
	@echo "== creating $(VENV) and installing openwit[dev] (about 2 minutes the first time)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	@touch $(STAMP)

# WordNet 3.0 data ships in no PyPI package; Debian's wordnet-base has it.
wordnet:
	@if [ ! -f $(WORDNET_DIR)/data.noun ]; then \
	  echo "== installing WordNet 3.0 data (Debian package wordnet-base) into $(WORDNET_DIR)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends wordnet-base >/dev/null \
	  || { echo "could not install wordnet-base: install it, or set WORDNET_DIR to a folder with data.noun"; exit 1; }; \
	fi

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup lint
	$(PY) -m pytest -q

test-all: setup lint
	$(PY) -m pytest -q -m "slow or not slow"

demo: setup
	$(PY) -m demo

bench: setup
	$(PY) bench/matching.py

clean:
	rm -rf out .pytest_cache
