"""The Great Expectations suites in `expectations/` as Dagster asset checks, one per suite.

Every suite check is blocking, so it runs before anything downstream of its asset (the
serving copy is published only after every check has run): an error-severity rule that fails
stops everything downstream in that run, while a failing warn-severity rule only reports,
and its records are flagged in `quality.flags` with the rule's name.

The suites run in two steps: those on raw tables after the loads (they guard dbt), those on
dbt's tables after dbt. One step per suite cost a Dagster step and a warehouse connection
each, thirteen a run; a step runs only its selected suites (a refresh of one source runs
that source's), one after another on one connection.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from orchestration.ingest.ingest_resources import WarehouseResource
from orchestration.quality.quality_resource import QualityResource
from orchestration.quality.suites import SuiteSpec, load_suites
from orchestration.quality.validate import SuiteOutcome, sample, validate_suite

RAW_LAYER = "raw"


def check_key(suite: SuiteSpec) -> dg.AssetCheckKey:
    """Return the asset check of a suite: `gx_<suite>` on the asset it guards."""
    return dg.AssetCheckKey(dg.AssetKey(list(suite.asset_key)), f"gx_{suite.name}")


def build_suite_checks(name: str, suites: list[SuiteSpec]) -> dg.AssetChecksDefinition:
    """Return one step that runs the given suites, each a blocking check of its own."""
    by_key = {check_key(suite): suite for suite in suites}

    @dg.multi_asset_check(
        name=name, can_subset=True,
        specs=[dg.AssetCheckSpec(key.name, asset=key.asset_key, blocking=True,
                                 description=f"Great Expectations suite {suite.name} "
                                             f"(expectations/{suite.path.name}). "
                                             f"{suite.description}")
               for key, suite in by_key.items()])
    def suite_checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
                     quality: QualityResource) -> Iterator[dg.AssetCheckResult]:
        failures: list[BaseException] = []
        with warehouse.connection() as con:
            for key, suite in by_key.items():
                if key not in context.selected_asset_check_keys:
                    continue
                try:
                    outcome = validate_suite(con, suite, Path(quality.quality_dir),
                                             context.run.run_id)
                except Exception as error:  # the other suites still run; the step fails
                    context.log.error(f"suite {suite.name} could not run: "
                                      f"{type(error).__name__}")
                    failures.append(error)
                    continue
                yield _result(key, outcome)
        if failures:
            raise failures[0]

    return suite_checks


def _result(key: dg.AssetCheckKey, outcome: SuiteOutcome) -> dg.AssetCheckResult:
    metadata: dict[str, object] = {"rows_validated": outcome.row_count}
    for rule in outcome.rules:
        metadata[f"{rule.severity}:{rule.rule}"] = {
            "passed": rule.success, "unexpected_count": rule.unexpected_count,
            "unexpected_percent": round(rule.unexpected_percent, 4),
            "sample_record_ids": sample(rule)}
    if outcome.docs_index is not None:
        metadata["data_docs"] = dg.MetadataValue.url(outcome.docs_index.as_uri())
    return dg.AssetCheckResult(
        asset_key=key.asset_key, check_name=key.name, passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.error_failed
        else dg.AssetCheckSeverity.WARN,
        metadata=metadata)


def suite_checks(dbt_target: str) -> list[dg.AssetChecksDefinition]:
    """Return the checks a deployment runs: on another engine, those of raw tables only.

    The suites read their batches from DuckDB. Raw tables are there whatever the target;
    staged and mart tables are there only when dbt builds on DuckDB. Elsewhere their suites
    are not defined at all, rather than reporting a pass on tables they cannot see
    (docs/scale-out.md says so).
    """
    suites = load_suites()
    raw = [suite for suite in suites if suite.asset_key[0] == RAW_LAYER]
    built = [suite for suite in suites if suite.asset_key[0] != RAW_LAYER]
    steps = [build_suite_checks("raw_table_suites", raw)]
    if dbt_target == "duckdb" and built:
        steps.append(build_suite_checks("model_suites", built))
    return steps
