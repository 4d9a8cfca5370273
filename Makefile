# Two entry points for a fresh machine (see README): `make run` and `make test`.
# Everything the project needs is installed from here: the virtualenv with Python packages,
# the Oxigraph server (PyPI `oxigraph`), and Debian packages (Java for HermiT) via apt-get.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install system-deps run build serve test lint bench

install: $(VENV)/.installed system-deps

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

system-deps:
	@bash .ci/system-deps

build: install
	$(BIN)/kg build

run: build
	$(BIN)/kg serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check kg service tests bench

bench: install
	$(BIN)/python -m bench
