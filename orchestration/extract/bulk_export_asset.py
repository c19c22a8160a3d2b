"""The EHR's Bulk Data export as a Dagster asset: one run lands one export folder.

The asset only lands files (``ehr/<export>/``); the landing sensor then starts the refresh
that loads them, as for any delivered export. The server's ``error`` files are reported by an
asset check by OperationOutcome severity and code only: a warning when the server reports
warnings or information, an error when it reports errors or fatal issues (some resources were
not exported).
"""
# No `from __future__ import annotations` here: Dagster reads these annotations at runtime.

from pathlib import Path

import dagster as dg

from orchestration.extract.bulk_data_resource import FhirBulkDataResource
from orchestration.extract.bulk_export import ExportResult, run_export
from orchestration.extract.landing_resource import LandingResource
from orchestration.runtime.file_modes import keep_files_private

EXPORT_ASSET = dg.AssetKey(["landing", "fhir_bulk_export"])
ERRORS_CHECK = "server_reported_no_errors"
SERIOUS = ("error/", "fatal/")


def error_check(result: ExportResult) -> dg.AssetCheckResult:
    """Judge the server's error files: passed when empty; errors and fatal issues are errors."""
    issues = dict(sorted(result.server_issues.items()))
    serious = sum(count for key, count in issues.items() if key.startswith(SERIOUS))
    return dg.AssetCheckResult(
        check_name=ERRORS_CHECK, passed=not issues,
        severity=dg.AssetCheckSeverity.ERROR if serious else dg.AssetCheckSeverity.WARN,
        description="Issues the server reported in the export's error files, by severity and "
                    "code (no diagnostics text).",
        metadata={"issues": dg.MetadataValue.json(issues), "serious": serious})


@dg.asset(
    key=EXPORT_ASSET,
    group_name="extract_from_systems",
    kinds={"fhir", "http"},
    description="Exports the EHR's referral data through FHIR Bulk Data ($export, SMART "
                "Backend Services) since the last export, and lands it as ehr/<export>/.",
    check_specs=[dg.AssetCheckSpec(ERRORS_CHECK, asset=EXPORT_ASSET,
                                   description="The export's error files list no issues.")],
)
def fhir_bulk_export(context: dg.AssetExecutionContext, fhir_bulk: FhirBulkDataResource,
                     landing: LandingResource) -> dg.MaterializeResult:
    """Run one export and land it; the next run asks only for what changed since."""
    keep_files_private()  # PHI on disk: the export job has no warehouse resource to set it
    result = run_export(fhir_bulk.client(context.log), Path(landing.landing_dir),
                        list(fhir_bulk.resource_types), fhir_bulk.group_id or None,
                        context.log.info)
    return dg.MaterializeResult(
        metadata={"export_folder": str(result.folder), "transaction_time": result.transaction_time,
                  "since": result.since or "everything",
                  "resources_by_type": dg.MetadataValue.json(dict(result.resources_by_type)),
                  "files": sum(result.files_by_type.values()),
                  "bytes_downloaded": result.bytes_downloaded,
                  "already_landed": result.already_landed,
                  "deleted_on_server": result.deleted_on_server},
        check_results=[error_check(result)])
