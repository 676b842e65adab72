# The two commands a newcomer needs (see README):
#   make demo   set up, build the demo world on SQLite, open the labelling app
#   make test   set up with dev tools, run lint, type checks and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test check lint typecheck bench setup clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/labelbench demo
	LABELBENCH_ANALYST=$${LABELBENCH_ANALYST:-demo} $(BIN)/labelbench label

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks migrations
	$(BIN)/ruff format --check src tests benchmarks migrations

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -n 2 -q

check: test

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_loco.py --scales 1 10 --naive-folds 12
	$(BIN)/python benchmarks/bench_label.py
	$(BIN)/python benchmarks/bench_label_app.py
	$(BIN)/python benchmarks/bench_concurrency.py
	$(BIN)/python benchmarks/bench_active_learning.py
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_weekly_report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
