# Two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install bench eval

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

# Benchmarks print their figures; none is a pass/fail test. The evaluations of the
# text checkers read ../shared/data (development data, not shipped).
bench: install
	$(BIN)/python bench/api_bench.py
	$(BIN)/python bench/text_bench.py
	$(BIN)/python bench/image_bench.py --quick

eval: install
	$(BIN)/python bench/text_eval.py
	$(BIN)/python bench/image_eval.py
