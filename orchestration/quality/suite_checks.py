"""One Dagster asset check per Great Expectations suite in `expectations/`.

Every suite check is blocking, so it runs before anything downstream of its asset (the
serving copy is published only after every check has run): an error-severity rule that fails
stops everything downstream in that run, while a failing warn-severity rule only reports,
and its records are flagged in `quality.flags` with the rule's name.
"""

from pathlib import Path

import dagster as dg

from orchestration.ingest.ingest_resources import WarehouseResource
from orchestration.quality.quality_resource import QualityResource
from orchestration.quality.suites import SuiteSpec, load_suites
from orchestration.quality.validate import sample, validate_suite


def build_suite_check(suite: SuiteSpec) -> dg.AssetChecksDefinition:
    """Return the asset check that runs one suite on its asset."""

    @dg.asset_check(asset=dg.AssetKey(list(suite.asset_key)), name=f"gx_{suite.name}",
                    blocking=True,
                    description=f"Great Expectations suite {suite.name} "
                                f"(expectations/{suite.path.name}). {suite.description}")
    def suite_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
                    quality: QualityResource) -> dg.AssetCheckResult:
        with warehouse.connection() as con:
            outcome = validate_suite(con, suite, Path(quality.quality_dir),
                                     context.run.run_id)
        metadata: dict[str, object] = {"rows_validated": outcome.row_count}
        for rule in outcome.rules:
            metadata[f"{rule.severity}:{rule.rule}"] = {
                "passed": rule.success, "unexpected_count": rule.unexpected_count,
                "unexpected_percent": round(rule.unexpected_percent, 4),
                "sample_record_ids": sample(rule)}
        if outcome.docs_index is not None:
            metadata["data_docs"] = dg.MetadataValue.url(outcome.docs_index.as_uri())
        return dg.AssetCheckResult(
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR if outcome.error_failed
            else dg.AssetCheckSeverity.WARN,
            metadata=metadata)

    return suite_check


def suite_checks(dbt_target: str) -> list[dg.AssetChecksDefinition]:
    """Return the checks a deployment runs: on another engine, those of raw tables only.

    The suites read their batches from DuckDB. Raw tables are there whatever the target;
    staged and mart tables are there only when dbt builds on DuckDB. Elsewhere their suites
    are not defined at all, rather than reporting a pass on tables they cannot see
    (docs/scale-out.md says so).
    """
    return [build_suite_check(suite) for suite in load_suites()
            if dbt_target == "duckdb" or suite.asset_key[0] == "raw"]
