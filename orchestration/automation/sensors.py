"""A sensor that starts a refresh when new or changed files appear in the landing folder.

It looks only at the file listing (paths, sizes, modification times), never at the
warehouse: a run that is writing holds DuckDB's lock, and the sensor must not need it.
Its first tick only records the listing it finds: turning the sensor on (or starting
`make dev`) must not launch a refresh of files the daily run has already loaded.
"""

import hashlib
from pathlib import Path

import dagster as dg

from orchestration.automation.jobs import refresh_warehouse_job
from orchestration.extract.landing_resource import LandingResource

SOURCE_FOLDERS = ("ehr", "scheduling", "crm", "web")


def landing_fingerprint(landing: Path) -> tuple[str, int]:
    """Return a digest of every source file's path, size and mtime, and the file count."""
    digest = hashlib.sha256()
    count = 0
    for folder in SOURCE_FOLDERS:
        root = landing / folder
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            stat = path.stat()
            digest.update(f"{path.relative_to(landing)}|{stat.st_size}|{stat.st_mtime_ns}\n"
                          .encode())
            count += 1
    return digest.hexdigest(), count


@dg.sensor(job=refresh_warehouse_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts a refresh when files land in the landing folder.")
def landing_files_sensor(context: dg.SensorEvaluationContext,
                         landing: LandingResource) -> dg.SensorResult | dg.SkipReason:
    """Request a run when the landing folder's listing changed since the last evaluation."""
    folder = Path(landing.landing_dir)
    if not folder.is_dir():
        return dg.SkipReason(f"landing folder {folder} does not exist")
    fingerprint, count = landing_fingerprint(folder)
    if context.cursor is None:
        return dg.SensorResult(skip_reason=f"first tick: recorded {count} file(s) in {folder}; "
                                           "a refresh starts when they change",
                               cursor=fingerprint)
    if fingerprint == context.cursor:
        return dg.SkipReason(f"no new files among {count} in {folder}")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=fingerprint)],
                           cursor=fingerprint)
