# Two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test bench eval

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Stamps, so a second `make demo` starts at once; editing pyproject.toml reinstalls.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.runtime

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@ $(VENV)/.test $(VENV)/.runtime

install: $(VENV)/.runtime
install-test: $(VENV)/.test

# A fresh demo database, the built-in plugins, tokens printed once, on 127.0.0.1:8080.
demo: install
	$(BIN)/draftgate demo --host 127.0.0.1 --port 8080

test: install-test
	$(BIN)/python -m pytest

# Benchmarks print their figures; none is a pass/fail test. The evaluations of the
# text checkers read ../shared/data (development data, not shipped).
bench: $(VENV)/.bench
	$(BIN)/python bench/api_bench.py
	$(BIN)/python bench/text_bench.py
	$(BIN)/python bench/image_bench.py --quick

eval: install-test
	$(BIN)/python bench/text_eval.py
	$(BIN)/python bench/image_eval.py
