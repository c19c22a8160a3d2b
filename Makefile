# Referral Warehouse: `make run` builds the demo warehouse, `make test` runs the test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DAGSTER_HOME := $(CURDIR)/.dagster_home
export RW_LANDING_DIR ?= $(CURDIR)/data/landing
export RW_WAREHOUSE_PATH ?= $(CURDIR)/data/warehouse/referral_warehouse.duckdb
# Demo mode allows the published demo pseudonymization key; real data needs
# RW_PSEUDONYMIZATION_KEY and RW_DEMO_MODE=0.
export RW_DEMO_MODE ?= 1

SEED ?= 42
SCALE ?= 1
# The dashboard listens on this machine only (.streamlit/config.toml) unless told otherwise.
DASHBOARD_ADDRESS ?= 127.0.0.1

.PHONY: install run demo-data dev dashboard test lint benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $@

## Generate the demo source systems (only when the landing folder is not there yet).
demo-data: install
	@if [ ! -d "$(RW_LANDING_DIR)" ]; then \
		$(BIN)/simulate-sources --out "$(RW_LANDING_DIR)" --seed $(SEED) --scale $(SCALE); \
	else echo "landing folder $(RW_LANDING_DIR) exists: loading it as it is"; fi

## Load every source into the warehouse through Dagster and print what happened.
run: demo-data
	$(BIN)/referral-warehouse run

## Open the Dagster UI on the same code location.
dev: install
	$(BIN)/referral-warehouse dev

## The referral dashboard over the published serving copy (http://127.0.0.1:8501).
dashboard: install
	$(BIN)/streamlit run dashboard/app.py --server.address $(DASHBOARD_ADDRESS) \
		--browser.gatherUsageStats false

test: install
	$(BIN)/pytest

## Python with ruff; every dbt model with sqlfluff through dbt's templater (.sqlfluff), which
## compiles the project against a scratch DuckDB file, never the warehouse.
lint: install
	$(BIN)/ruff check orchestration source_simulator dashboard tests benchmarks
	mkdir -p target/lint
	RW_DBT_TARGET=duckdb RW_WAREHOUSE_PATH=$(CURDIR)/target/lint/lint.duckdb \
		DBT_TARGET_PATH=$(CURDIR)/target/lint $(BIN)/sqlfluff lint dbt_project/models \
		--processes 2

## Ingest against DuckDB's own readers, then whole runs (full, nothing new, forced, one more
## day) per scale against a plain DuckDB script, with peak memory; scale 100 (about 20 M
## records, full build only) behind a flag: make benchmark BENCH_100=1.
## Figures: docs/benchmarks.md.
BENCH_SCALES ?= 1 10
benchmark: install
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/pipeline.py --scales $(BENCH_SCALES)
	$(BIN)/python -m benchmarks.extract --landing $(RW_LANDING_DIR)
	$(BIN)/python benchmarks/forecast_backtest.py
	@if [ "$(BENCH_100)" = "1" ]; then \
		$(BIN)/python benchmarks/pipeline.py --scales 100 --full-only; fi

clean:
	rm -rf data .dagster_home target logs
