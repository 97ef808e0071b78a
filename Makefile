PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/comcep db upgrade
	$(BIN)/comcep seed-demo
	$(BIN)/comcep run --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(BIN)/ruff check comcep tests config.py bench
	$(BIN)/ruff format --check comcep tests config.py bench
	bash .ci/test-passes

lint: $(STAMP)
	$(BIN)/ruff check comcep tests config.py bench
	$(BIN)/ruff format --check comcep tests config.py bench

clean:
	rm -rf $(VENV) instance .pytest_cache

# Benchmark (bench/README.md): SIZES=10000,100000 limits the sizes; DATABASES=sqlite skips PostgreSQL.
bench: $(STAMP)
	nice -n 10 $(BIN)/python bench/run.py $(if $(SIZES),--sizes $(SIZES)) $(if $(DATABASES),--databases $(DATABASES)) $(BENCH_ARGS)
