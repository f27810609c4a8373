# Every target sets itself up from a bare Python (>= 3.11): it creates .venv and
# installs the packages editable plus the dev tools, once per change of a pyproject.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PACKAGES := $(sort $(wildcard packages/ormer-*))
STAMP  := $(VENV)/.installed

# The benchmarks' own virtualenv: the packages editable plus benchmarks/requirements.txt
# (raw drivers, peer ORMs, profilers).
BENCH_VENV  := .venv-bench
# the benchmarks' ormer: the core and the backends, no add-on plugin
BENCH_PACKAGES := $(filter-out packages/ormer-otel,$(PACKAGES))
BENCH_DISABLE_PLUGINS ?= otel
BENCH_BIN   := $(BENCH_VENV)/bin
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_ARGS  ?=

.PHONY: install demo test test-integration test-wheels test-faults test-containers fuzz lint build bench clean

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
	$(BIN)/python examples/work_queue.py
	$(BIN)/python examples/turso_demo.py

# Unit, SQLite and property tests; server-backed tests skip (with the reason
# printed) when their database is unreachable. The fault tests run in
# test-integration only.
test: $(STAMP)
	$(BIN)/python -m pytest --ignore=tests/integration -m "not containers and not faults"

# The PostgreSQL and MySQL suites (failing, not skipping, when a server is
# unreachable), the packaging checks (each backend's wheel installed with
# ormer-core alone into an empty venv runs the quickstart) and the fault tests
# (tests/faults: private PostgreSQL and MariaDB servers restarted, killed,
# stalled and cut off; a server that cannot be started fails the run).
test-integration: $(STAMP)
	ORMER_TEST_REQUIRE=postgres,mysql $(BIN)/python -m pytest -m "postgres or mysql" --ignore=tests/integration
	$(MAKE) test-wheels test-faults

# The two parts of test-integration besides the server suites (CI runs the server
# suites in `make test`, with ORMER_TEST_REQUIRE set so they cannot skip).
test-wheels: $(STAMP)
	ORMER_TEST_REQUIRE=postgres,mysql $(BIN)/python -m pytest tests/integration

test-faults: $(STAMP)
	ORMER_TEST_REQUIRE=postgres,mysql $(BIN)/python -m pytest -m faults tests/faults

# The PostgreSQL and MariaDB suites, the property tests and the pool suites
# again, on containers started by testcontainers (docs/testing.md): a Docker
# engine is started if none answers (Debian's docker.io installed if missing),
# the images are built from Debian packages once (tests/containers/, cached),
# and every container is removed at the end. Other images:
# ORMER_TEST_POSTGRES_IMAGE=postgres:17 make test-containers
test-containers: $(STAMP)
	PYTHON=$(BIN)/python ORMER_TEST_REQUIRE=postgres,mysql tests/containers/containers.sh test \
		-m "postgres or mysql or containers" --ignore=tests/integration

# The property tests with many more random examples (the hypothesis profile
# "fuzz": ORMER_FUZZ_EXAMPLES per property and backend, default 10000); the
# summary prints the examples run and the distinct query/model shapes covered.
fuzz: $(STAMP)
	ORMER_HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/property

lint: $(STAMP)
	$(BIN)/ruff check packages tests examples benchmarks
	$(BIN)/ruff format --check packages tests examples benchmarks
	$(BIN)/mypy $(foreach p,$(PACKAGES),$(p)/src)
	$(BIN)/mypy examples tests/typing/check_query_types.py

build: $(STAMP)
	rm -rf dist
	for p in $(PACKAGES); do $(BIN)/python -m build --wheel --outdir dist $$p || exit 1; done
	ls dist

$(BENCH_STAMP): benchmarks/requirements.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "ormer needs Python >= 3.11"'
	test -x $(BENCH_BIN)/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/python -m pip install --quiet --upgrade pip
	$(BENCH_BIN)/python -m pip install --quiet $(foreach p,$(BENCH_PACKAGES),-e $(p)) -r benchmarks/requirements.txt
	touch $(BENCH_STAMP)

# ormer against the raw drivers and peer ORMs (docs/performance.md). Not a test: never
# part of `make test` or CI. Options: make bench BENCH_ARGS="--quick -b sqlite -w W1,W2"
# ormer is measured without add-on plugins (ormer-otel's hooks would run on every
# statement): BENCH_DISABLE_PLUGINS= (empty) measures with whatever is installed.
bench: $(BENCH_STAMP)
	ORMER_DISABLE_PLUGINS=$(BENCH_DISABLE_PLUGINS) $(BENCH_BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) dist .pytest_cache .mypy_cache .ruff_cache
