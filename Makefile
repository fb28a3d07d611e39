# Mammoth — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres install demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned to the CPU wheel, so nothing later pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e '.[dev,materials]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/mammoth demo --if-absent

run: demo
	$(BIN)/mammoth run

# The whole suite on SQLite; again on PostgreSQL when MAMMOTH_TEST_POSTGRES_URL is set.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile
	@if [ -n "$$MAMMOTH_TEST_POSTGRES_URL" ]; then $(MAKE) --no-print-directory test-postgres; fi

test-postgres: $(STAMP)
	MAMMOTH_TEST_DATABASE=postgres $(BIN)/python -m pytest -q -m "not sqlite_only" tests/core

bench: $(STAMP)
	$(BIN)/python benchmarks/core_bench.py

clean:
	rm -rf $(VENV) var
