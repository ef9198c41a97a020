# Two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install bench

$(BIN)/draftgate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/draftgate

install: $(BIN)/draftgate

# A fresh demo database, the built-in plugins, tokens printed once, on 127.0.0.1:8080.
demo: install
	$(BIN)/draftgate demo --host 127.0.0.1 --port 8080

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run_all.py
