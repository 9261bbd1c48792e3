# Two commands for a fresh machine with Python 3.11: `make demo` and `make test`.
# Both create .venv and install what they need from the project's own files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
# Where pyenv keeps its interpreters, for `make versions` (ignored when absent).
PYENV_ROOT ?= $(HOME)/.pyenv

.PHONY: demo test lint typecheck imports pytest bench versions dist clean

# The package with every extra, plus the developer tools: the `dev` dependency group
# of pyproject.toml (PEP 735), which needs pip >= 25.1, hence the upgrade first.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]' --group dev
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m examples.demo

test: lint typecheck imports pytest

lint: $(STAMP)
	$(BIN)/ruff check jwt_middleware tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_verify

# The suite on every Python the classifiers claim: tox's `versions` label. tox finds
# python3.X on PATH, so pyenv's interpreters are put there when pyenv has them.
versions: $(STAMP)
	PATH="$$(ls -d $(PYENV_ROOT)/versions/3.1[0-9]*/bin 2>/dev/null | tr '\n' ':')$$PATH" \
		$(BIN)/tox -m versions

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .tox build dist *.egg-info
