# aiot — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# ThingsBoard's own device SDK, the real client of the compatibility tests. It brings a fork of
# paho, so it lives apart in .venv/thingsboard and runs on its own path (tests/e2e/server.py).
THINGSBOARD_SDK := tb-mqtt-client==1.13.14

.PHONY: install demo test check bench format clean

$(STAMP): pyproject.toml Makefile
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --upgrade --target $(VENV)/thingsboard $(THINGSBOARD_SDK)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/aiot demo

test: $(STAMP)
	$(BIN)/pytest -q

check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest_http.py
	$(BIN)/python benchmarks/mqtt_ingest.py
	$(BIN)/python benchmarks/stream.py
	$(BIN)/python benchmarks/detectors.py
	$(BIN)/python benchmarks/dashboard.py

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
