# segdend: `make demo` and `make test` work on a fresh machine (they create .venv if missing).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.segdend-installed

.PHONY: setup system-deps demo test test-fast lint bench reproduce-quick results package clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,docs]"
	@touch $(STAMP)

setup: $(STAMP)

# Debian's chromium (the report's browser test) and dataset-fashion-mnist.
system-deps:
	@bash scripts/system-deps.sh

demo: setup
	$(VENV)/bin/segdend demo

test: setup system-deps
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

reproduce-quick: setup
	$(VENV)/bin/segdend reproduce all --scale quick
	$(VENV)/bin/segdend report reproduction/mnist-quick

# sdist and wheel in dist/, checked with twine (tests/test_package.py also installs the wheel
# into a fresh environment).
package: setup
	rm -f dist/segdend-*
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/segdend-*

# RESULTS.md from the committed folders under results/ (no training).
results: setup
	$(VENV)/bin/segdend results results --out RESULTS.md

# The documentation site in docs/_build/html; every warning is an error (tests/test_docs.py
# builds it the same way and opens every page in headless Chromium).
.PHONY: docs
docs: setup
	rm -rf docs/_build/html docs/_build/doctrees
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache dist
