# The two commands a newcomer needs (see README.md):
#   make run    set up a virtual environment and run the service on SQLite under ./var
#   make test   set up the same environment with test tools and run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# setuptools < 81 keeps pkg_resources for anything that still imports it; dlib comes as the
	# prebuilt dlib-bin wheel (never compiled).
	$(BIN)/pip install --quiet --upgrade pip "setuptools<81" wheel
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/civid serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

# mypy as [tool.mypy] in pyproject.toml says: matcher, models and the core, strict.
typecheck: $(STAMP)
	$(BIN)/python -m mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var
