# Two entry points for a fresh machine (see README): `make run` and `make test`.
# Everything the project needs is installed from here: the virtualenv with Python packages,
# the Oxigraph server (PyPI `oxigraph`), Debian packages (Java for HermiT, Node.js, Chromium for the
# browser tests) via apt-get, and the pages' npm packages (web/, `npm ci`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install system-deps run build serve test lint bench

install: $(VENV)/.installed system-deps web/node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

system-deps:
	@bash .ci/system-deps

# The pages' front-end packages (YASGUI), from the npm registry, served locally by the service under /static.
web/node_modules/.installed: web/package.json web/package-lock.json | system-deps
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

build: install
	$(BIN)/kg build

run: build
	$(BIN)/kg serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check kg service tests bench

# About 10^4, 10^5, 10^6 and 10^7 triples (~275 a study); the README's table. Takes ~20 min on 2 cores.
BENCH_SIZES ?= 36,360,3600,36600

bench: install
	$(BIN)/python -m bench --sizes $(BENCH_SIZES) --whole-cap 120000 --rdflib-cap 120000
