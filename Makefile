# Every task has a target. The first run creates .venv and installs into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REDCLOUD_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export REDCLOUD_TEST_POSTGRES_URL

.PHONY: demo test lint typecheck format unit fast serve clean bench screenshots chromium

SDK := sdk/python

$(STAMP): pyproject.toml $(SDK)/pyproject.toml tests/smsc/package-lock.json
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e $(SDK)
	cd tests/smsc && npm ci --silent --no-audit --no-fund
	touch $(STAMP)

## demo: run the platform at http://127.0.0.1:8080 on SQLite with the demo data set
demo: $(STAMP)
	$(BIN)/redcloud serve --demo --host 127.0.0.1 --port 8080

## test: lint, types, and the whole suite on SQLite and PostgreSQL
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench $(SDK)
	$(BIN)/ruff format --check src tests bench $(SDK)

typecheck: $(STAMP)
	$(BIN)/mypy src $(SDK)/src

unit: $(STAMP) chromium
	$(BIN)/pytest -p no:cacheprovider

# The console's browser tests drive Debian's chromium (Playwright cannot download its own here).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; } \
		|| { sudo apt-get update -qq && sudo apt-get install -y -qq chromium; }

## fast: the tests that start no processes (about a minute), for the edit-test loop
fast: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -m "not slow"

## bench: measure throughput and latency on this machine; writes bench/REPORT.md
bench: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk || sudo apt-get install -y wrk
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## screenshots: retake docs/images/console-*.png with the console's browser tests
screenshots: $(STAMP)
	REDCLOUD_SCREENSHOTS=docs/images $(BIN)/pytest -p no:cacheprovider tests/test_console_browser.py

format: $(STAMP)
	$(BIN)/ruff format src tests bench $(SDK)
	$(BIN)/ruff check --fix src tests bench $(SDK)

serve: $(STAMP)
	$(BIN)/redcloud serve

clean:
	rm -rf $(VENV) .redcloud .pytest_cache .mypy_cache .ruff_cache bench/.work bench/logs
