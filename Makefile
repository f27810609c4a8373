# Every target sets itself up from a bare Python (>= 3.11): it creates .venv and
# installs the packages editable plus the dev tools, once per change of a pyproject.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PACKAGES := $(sort $(wildcard packages/ormer-*))
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-integration lint build clean

$(STAMP): pyproject.toml $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "ormer needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(foreach p,$(PACKAGES),-e $(p)) --group dev
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/quickstart.py
	$(BIN)/python examples/pool.py

# Unit, SQLite and property tests; server-backed tests skip (with the reason
# printed) when their database is unreachable.
test: $(STAMP)
	$(BIN)/python -m pytest --ignore=tests/integration

# The PostgreSQL and MySQL suites (failing, not skipping, when a server is
# unreachable) and the packaging checks: each backend's wheel installed with
# ormer-core alone into an empty venv runs the quickstart.
test-integration: $(STAMP)
	ORMER_TEST_REQUIRE=postgres,mysql $(BIN)/python -m pytest -m "postgres or mysql" --ignore=tests/integration
	ORMER_TEST_REQUIRE=postgres,mysql $(BIN)/python -m pytest tests/integration

lint: $(STAMP)
	$(BIN)/ruff check packages tests examples
	$(BIN)/ruff format --check packages tests examples
	$(BIN)/mypy $(foreach p,$(PACKAGES),$(p)/src)

build: $(STAMP)
	rm -rf dist
	for p in $(PACKAGES); do $(BIN)/python -m build --wheel --outdir dist $$p || exit 1; done
	ls dist

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache
