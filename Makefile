# Two entry points (see README): `make conformance` and `make test`. Each sets up .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: conformance test lint clean bench report

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

conformance: $(STAMP)
	$(BIN)/ota-conformance run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests -q -p no:cacheprovider -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache

bench: $(STAMP)
	$(BIN)/python -m harness.perf.bench -o reports/bench.json

# The Allure 3 report of the newest run, with history (reports/allure-history.jsonl); needs node and npm.
report: $(STAMP)
	$(BIN)/python -m harness.reports.allure --reports-dir reports
