# Two entry points (see README): `make conformance` and `make test`. Each sets up .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
#: Every dependency, transitive ones and the build tools included, pinned with its hashes (see `make lock`).
LOCK   := requirements/dev.lock

.PHONY: conformance test lint clean bench report lock lock-allure variation

# The lock first, hash-checked (pip refuses --require-hashes beside `-e .`), then the project alone with the
# locked build tools (no isolated build environment fetching unpinned setuptools).
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

conformance: $(STAMP)
	$(BIN)/ota-conformance run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest tests -q -p no:cacheprovider -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Refresh the lock files after changing a pin in pyproject.toml (needs uv, e.g. `pipx install uv`); the
# radio libraries' lock (requirements/hardware.lock) is for benches: `.venv/bin/pip install --require-hashes -r` it.
lock:
	uv pip compile pyproject.toml requirements/build-tools.in --extra dev --universal --generate-hashes \
		--python-version 3.11 -o requirements/dev.lock
	uv pip compile pyproject.toml requirements/build-tools.in --extra dev --extra hardware --universal \
		--generate-hashes --python-version 3.11 -o requirements/hardware.lock

# Refresh the npm lock of the Allure command (`make report` installs it with `npm ci`): after changing the pin in
# requirements/allure/package.json (and ALLURE_VERSION in harness/reports/allure.py); needs npm.
lock-allure:
	cd requirements/allure && npm install --package-lock-only --no-audit --no-fund

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache

# The variation self-check's nightly part: SEEDS new random seeds, each on both reference emulators (virtual
# clock), and every fault knob once on a new seed of its own; statements, benches and summary.md under
# reports/variation/<UTC time>/ (docs/variation.md).
SEEDS ?= 10
variation: $(STAMP)
	$(BIN)/python -m tests.selfcheck.variation --seeds $(SEEDS) --knobs --reports-dir reports/variation

bench: $(STAMP)
	$(BIN)/python -m harness.perf.bench -o reports/bench.json

# The Allure 3 report of the newest run, with history (reports/allure-history.jsonl); needs node and npm.
report: $(STAMP)
	$(BIN)/python -m harness.reports.allure --reports-dir reports
