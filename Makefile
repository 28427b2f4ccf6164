# Two entry points for people: `make demo` and `make test`. Both build the environment first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint env assets translations clean bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,postgres]"
	touch $(STAMP)

env: $(STAMP) assets translations

# bpmn-js (viewer + modeler) and dmn-js (decision-table modeler) from npm, served from web/static/vendor (not committed).
assets: web/static/vendor/.stamp

web/static/vendor/.stamp: web/assets/package.json web/assets/package-lock.json web/assets/install_vendor.py $(wildcard web/assets/src/*)
	@if command -v npm >/dev/null 2>&1; then \
		npm --prefix web/assets ci --no-audit --no-fund --loglevel=error && \
		$(BIN)/python web/assets/install_vendor.py && touch $@; \
	else echo "npm not found: the BPMN viewer/editor pages will be unavailable"; fi

# UI translations (zh_CN): the compiled .mo files are committed; this rebuilds them from the .po files.
translations: $(STAMP)
	$(BIN)/pybabel -q compile -d web/translations

demo: env
	$(BIN)/sealtrail demo

test: env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The layer contracts of pyproject.toml ([tool.importlinter]).
lint: env
	$(BIN)/lint-imports

# Every benchmark against its bare baseline, one table; under 10 minutes on 2 cores; never fails.
# PostgreSQL: SEALTRAIL_BENCH_POSTGRES (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
bench: env
	-$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) web/assets/node_modules web/static/vendor
