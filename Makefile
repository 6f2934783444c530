# Two entry points that work on a fresh clone with only Python 3.11+ installed:
#   make demo   plays the seed case end to end
#   make test   runs the whole test suite (what CI runs), in parallel where it can
# Both create .venv on first use and reinstall when pyproject.toml changes.
#   make test-quick   the unit tier for the inner loop: no slow searches, no coverage

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-quick lint docs bench mutation clean diagram-tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/medan_street_beggar.py

test: $(STAMP)
	$(BIN)/python -m pytest -m serial --cov --cov-report=
	$(BIN)/python -m pytest -n auto -m "not serial" --cov --cov-append --cov-report=term \
		-p casework_flow.pytest_plugin --casework-coverage-json=build/casework-coverage.json

test-quick: $(STAMP)
	$(BIN)/python -m pytest -n auto -m "not slow" -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir build/site

# Mutation testing of the modules where the promises live (see docs/contributing.md):
# mutmut's score from its own statistics, then every guard clause switched off in turn.
mutation: $(STAMP)
	$(BIN)/mutmut run || true
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python tests/switch_off_checks.py --mutmut-stats mutants/mutmut-cicd-stats.json

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

# Mermaid's parser and Graphviz (as WebAssembly) from the npm registry, for the diagram
# tests; without them those tests are skipped, except under CI.
diagram-tools: build/node/node_modules/.installed

build/node/node_modules/.installed:
	mkdir -p build/node
	npm install --prefix build/node --no-audit --no-fund --silent mermaid@12 jsdom@25 @viz-js/viz@3
	touch $@

clean:
	rm -rf $(VENV) build mutants .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
