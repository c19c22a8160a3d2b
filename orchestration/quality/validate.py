"""Running a suite: read its batch from DuckDB, validate it with GX, record flags and docs.

GX cannot read DuckDB through SQLAlchemy here (its metrics fetch rows after the connection
closes), so the batch is read by DuckDB and handed to GX as a pandas DataFrame. GX is
imported only when a suite runs: it takes seconds to import.

The frame is built from Arrow (strings stay Arrow-backed) and without the `record_id`
column: GX reports failing rows by position, and the ids are looked up in the Arrow column
afterwards. The ids as Python strings were most of the frame, and GX copies a frame it
reports ids from: on 7.6 M GA4 events the suite peaked at 4.1 GB and took 18 s; without
them, 1.5 GB and 4.6 s (decision 102).
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from orchestration.quality.data_docs import build_docs, context, docs_index, prune_results
from orchestration.quality.suites import SuiteSpec

SAMPLE_SIZE = 10
QUALITY_DDL = (
    "create schema if not exists quality",
    """create table if not exists quality.flags (
        suite varchar not null, rule varchar not null, severity varchar not null,
        record_id varchar, run_id varchar, checked_at timestamptz not null)""",
    """create table if not exists quality.rule_results (
        suite varchar not null, asset_key varchar not null, rule varchar not null,
        severity varchar not null, success boolean not null, unexpected_count bigint,
        unexpected_percent double, run_id varchar, checked_at timestamptz not null)""",
    """create table if not exists quality.row_counts (
        suite varchar not null, row_count bigint not null, run_id varchar,
        counted_at timestamptz not null)""",
)


def _npi_digit_sum() -> str:
    """The Luhn sum of an NPI's first nine digits: the odd positions doubled, less 9 over 9."""
    terms = []
    for position in range(1, 10):
        digit = f"cast(substring(npi, {position}, 1) as integer)"
        terms.append(f"(case when {digit} < 5 then 2 * {digit} else 2 * {digit} - 9 end)"
                     if position % 2 else digit)
    return " + ".join(terms)


# The NPI check (ten digits; Luhn check digit over the base prefixed with 80840, which adds
# 24 to the sum), as dbt's `is_valid_npi` macro writes it for the marts' `valid_npi` test.
# The digits are cast only in the `case` branch that knows there are ten of them: an `and`
# cast them for every row, and one NPI with a letter failed the suite, and so the run.
NPI_MACRO = f"""
create or replace temp macro npi_is_valid(npi) as (
    case when regexp_full_match(npi, '[0-9]{{10}}')
         then cast(substring(npi, 10, 1) as integer) = (10 - (24 + {_npi_digit_sum()}) % 10) % 10
         else false end
)"""


@dataclass
class RuleOutcome:
    """What one expectation found."""

    rule: str
    severity: str
    description: str
    success: bool
    unexpected_count: int = 0
    unexpected_percent: float = 0.0
    record_ids: list[str] = field(default_factory=list)


@dataclass
class SuiteOutcome:
    """What a suite found, and where its Data Docs are."""

    suite: SuiteSpec
    row_count: int
    rules: list[RuleOutcome]
    docs_index: Path | None

    @property
    def error_failed(self) -> bool:
        """Return whether an error-severity rule failed (the check then blocks)."""
        return any(not r.success and r.severity == "error" for r in self.rules)

    @property
    def passed(self) -> bool:
        """Return whether every rule passed."""
        return all(r.success for r in self.rules)


def validate_suite(con: duckdb.DuckDBPyConnection, suite: SuiteSpec, quality_dir: Path,
                   run_id: str) -> SuiteOutcome:
    """Validate the suite's batch, replace its flags, record its row count, update docs."""
    for statement in QUALITY_DDL:
        con.execute(statement)
    con.execute(NPI_MACRO)
    frame, record_ids = read_batch(con, suite)
    expectations = _with_row_count_bands(con, suite, len(frame))
    rules = _run_gx(suite, expectations, frame, record_ids, quality_dir, run_id)
    prune_results(quality_dir, suite.name)
    _record(con, suite, rules, len(frame), run_id)
    outcome = SuiteOutcome(suite, len(frame), rules, None)
    # A blocking failure stops the run before publish, which builds the docs: build them now
    # so the page the runbook sends an operator to is current. A warning waits for publish
    # (building after each of six warning suites cost 7 s of a scale-1 run).
    index = build_docs(quality_dir) if outcome.error_failed else docs_index(quality_dir)
    outcome.docs_index = index if index.exists() else None
    return outcome


def read_batch(con: duckdb.DuckDBPyConnection, suite: SuiteSpec) -> tuple[Any, pa.ChunkedArray]:
    """Return the suite's batch as a DataFrame, and its record ids in the frame's row order.

    The frame keeps `record_id` only when an expectation reads it. Decimals become floats,
    as DuckDB's own `.df()` makes them, so a bound like `min_value: 0` compares numbers.
    """
    table = con.execute(suite.batch_sql).to_arrow_table()
    record_ids = table.column("record_id")
    for index, column in enumerate(table.schema):
        if pa.types.is_decimal(column.type):
            table = table.set_column(index, column.name,
                                     table.column(index).cast(pa.float64()))
    if "record_id" not in suite.columns_read:
        table = table.drop_columns(["record_id"])
    return table.to_pandas(), record_ids


def _with_row_count_bands(con: duckdb.DuckDBPyConnection, suite: SuiteSpec,
                          row_count: int) -> list[dict[str, Any]]:
    """Fill row-count bands from the previous run's count; the first run only records it."""
    previous = con.execute(
        "select row_count from quality.row_counts where suite = ? "
        "order by counted_at desc limit 1", [suite.name]).fetchone()
    expectations = []
    for expectation in suite.expectations:
        band = expectation["meta"].get("band_from_previous")
        if band is None:
            expectations.append(expectation)
        else:
            filled = copy.deepcopy(expectation)
            if previous is None:
                filled["kwargs"].update(min_value=0)
            else:
                filled["kwargs"].update(min_value=int(previous[0] * (1 - band)),
                                        max_value=int(previous[0] * (1 + band)) + 1)
            expectations.append(filled)
    return expectations


def _run_gx(suite: SuiteSpec, expectations: list[dict[str, Any]], frame: Any,
            record_ids: pa.ChunkedArray, quality_dir: Path, run_id: str) -> list[RuleOutcome]:
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    gx_context = context(str(quality_dir))
    source = gx_context.data_sources.add_or_update_pandas("warehouse")
    asset_names = {asset.name for asset in source.assets}
    asset = (source.get_asset(suite.name) if suite.name in asset_names
             else source.add_dataframe_asset(suite.name))
    batch_names = {b.name for b in asset.batch_definitions}
    batch = (asset.get_batch_definition("whole_table") if "whole_table" in batch_names
             else asset.add_batch_definition_whole_dataframe("whole_table"))
    gx_suite = gx_context.suites.add_or_update(gx.ExpectationSuite(
        name=suite.name, meta={"description": suite.description},
        expectations=[ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"],
                                               meta=e["meta"]).to_domain_obj()
                      for e in expectations]))
    definition = gx_context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite))
    checkpoint = gx_context.checkpoints.add_or_update(gx.Checkpoint(
        name=suite.name, validation_definitions=[definition],
        actions=[],
        # Failing rows by position in the frame (its index is 0..n-1), not by id column.
        result_format={"result_format": "COMPLETE"}))
    # The result is filed under the Dagster run, so the Data Docs name the run an operator
    # finds in the Dagster UI (the time is given: GX would try to read one from the name).
    result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=RunIdentifier(
        run_name=run_id, run_time=datetime.datetime.now(datetime.UTC)))
    outcomes = []
    for run_result in result.run_results.values():
        for check in run_result.results:
            meta = check.expectation_config.meta
            details = check.result or {}
            positions = details.get("unexpected_index_list") or []
            ids = [str(i) for i in record_ids.take(positions).to_pylist()] if positions else []
            outcomes.append(RuleOutcome(
                rule=meta["rule"], severity=meta["severity"],
                description=meta.get("description", ""), success=bool(check.success),
                unexpected_count=int(details.get("unexpected_count") or 0),
                unexpected_percent=float(details.get("unexpected_percent") or 0.0),
                record_ids=ids))
    return outcomes


def _record(con: duckdb.DuckDBPyConnection, suite: SuiteSpec, rules: list[RuleOutcome],
            row_count: int, run_id: str) -> None:
    """Replace the suite's flags and rule results with this run's; note the batch size."""
    con.begin()
    try:
        con.execute("delete from quality.flags where suite = ?", [suite.name])
        failed = [r for r in rules if not r.success]
        flags = pa.table({
            "rule": pa.array([r.rule for r in failed for _ in r.record_ids], pa.string()),
            "severity": pa.array([r.severity for r in failed for _ in r.record_ids],
                                 pa.string()),
            "record_id": pa.array([i for r in failed for i in r.record_ids], pa.string()),
        })
        con.register("_flags", flags)
        con.execute("insert into quality.flags select ?, rule, severity, record_id, ?, now() "
                    "from _flags", [suite.name, run_id])
        con.unregister("_flags")
        con.execute("insert into quality.row_counts values (?, ?, ?, now())",
                    [suite.name, row_count, run_id])
        con.execute("delete from quality.rule_results where suite = ?", [suite.name])
        con.executemany(
            "insert into quality.rule_results values (?, ?, ?, ?, ?, ?, ?, ?, now())",
            [(suite.name, "/".join(suite.asset_key), r.rule, r.severity, r.success,
              r.unexpected_count, r.unexpected_percent, run_id) for r in rules])
    except BaseException:
        con.rollback()
        raise
    con.commit()


def sample(outcome: RuleOutcome) -> list[str]:
    """Return the first few failing record ids, for check metadata."""
    return outcome.record_ids[:SAMPLE_SIZE]
