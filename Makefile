# The two commands a newcomer needs (see README.md):
#   make run    set up a virtual environment and run the service on SQLite under ./var
#   make test   set up the same environment with test tools, lint (ruff, import-linter, mypy), run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# jsQR, the card verifier page's QR decoder (credentials/verifier/package-lock.json pins it), served by civid.
JSQR := credentials/verifier/node_modules/jsqr/dist/jsQR.js

.PHONY: run lint test typecheck bench clean messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# setuptools < 81 keeps pkg_resources for anything that still imports it; dlib comes as the
	# prebuilt dlib-bin wheel (never compiled).
	$(BIN)/pip install --quiet --upgrade pip "setuptools<81" wheel
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

# Without npm the verifier page still loads (it says the scanner is unavailable and takes pasted QR text).
$(JSQR): credentials/verifier/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --silent --no-audit --no-fund --prefix credentials/verifier && touch $(JSQR); \
	else echo "npm is missing: /verify will have no QR scanner (paste the QR text instead)" >&2; fi

run: $(STAMP) $(JSQR)
	$(BIN)/civid serve

# Style, the import layers (pyproject.toml [tool.importlinter]) and types: a broken contract fails the tests.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m mypy

test: lint $(JSQR)
	$(BIN)/python -m pytest -q

# mypy as [tool.mypy] in pyproject.toml says: every package; matcher, models, the core and server strict.
typecheck: $(STAMP)
	$(BIN)/python -m mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var

# The gettext template of every page message (keys), from the code, the templates and en.po (babel.cfg);
# `make messages` after adding a key, then give it a translation in every locale's civid.po.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k translate -k plural -k count_text --sort-output --no-location \
		--project civid -o civid/web/locale/civid.pot .
