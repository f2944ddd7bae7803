# Two commands do all the set-up: `make run` and `make test` (see README.md).
# `make run` installs what running needs; `make test` adds the test extras.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test verify bench install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per set of extras, remade when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/trialsim run scenarios/ctdna_er_positive.yaml

test: install-test
	$(BIN)/python -m pytest -n 2

verify: install-test
	$(BIN)/python -m pytest -n 2 -m slow

bench: install-test
	$(BIN)/python benchmarks/run_benchmarks.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
