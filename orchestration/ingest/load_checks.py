"""Checks on the extract-load layer: the books balance, quarantine stays small, files are read.

These guard the loader itself (nothing lost, nothing counted twice, no file silently left
out); the rules about what the data says (statuses, NPIs, referral sources) are the
data-quality suites' job. The extract asset evaluates them itself, on its own connection,
right after loading: three separate check steps per entity cost a Dagster step and a
warehouse connection each (54 steps, about 6 s of a run that had nothing to load).
"""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.ingest.entities.entity_spec import EntitySpec
from orchestration.ingest.warehouse import LEDGER_TABLE, QUARANTINE_TABLE

QUARANTINE_WARN_SHARE = 0.05


def load_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """Return the checks an extract asset reports on its raw table."""
    return [
        dg.AssetCheckSpec("records_reconcile", asset=key, blocking=True,
                          description="Every record read is loaded or quarantined: ledger read "
                                      "= raw rows + quarantined rows, over all loads."),
        dg.AssetCheckSpec("quarantine_share", asset=key,
                          description=f"Warns when more than {QUARANTINE_WARN_SHARE:.0%} of the "
                                      "records read were quarantined."),
        dg.AssetCheckSpec("files_accepted", asset=key,
                          description="Fails, as a warning, when a landing file of this run "
                                      "could not be read as a whole (wrong header, missing from "
                                      "the folder, not the format); the other files and every "
                                      "mart still build."),
    ]


def load_check_results(con: duckdb.DuckDBPyConnection, spec: EntitySpec, key: dg.AssetKey,
                       run_id: str) -> list[dg.AssetCheckResult]:
    """Evaluate the load checks of one entity, whose asset is ``key``, as the warehouse is now."""
    read, loaded, quarantined = con.execute(
        f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
        f"coalesce(sum(rows_quarantined), 0) from {LEDGER_TABLE} where entity = ?",
        [spec.table]).fetchone()
    in_raw = con.execute(f"select count(*) from raw.{spec.table}").fetchone()[0]
    reasons = dict(con.execute(
        f"select reason, count(*) from {QUARANTINE_TABLE} where entity = ? "
        "group by 1 order by 2 desc", [spec.table]).fetchall())
    in_quarantine = sum(reasons.values())
    rejected = dict(con.execute(
        f"select source_file, detail from {LEDGER_TABLE} where entity = ? "
        "and status = 'rejected' and run_id = ? order by 1", [spec.table, run_id]).fetchall())
    balanced = read == loaded + quarantined and loaded == in_raw \
        and quarantined == in_quarantine
    share = quarantined / read if read else 0.0
    return [
        dg.AssetCheckResult(
            asset_key=key, check_name="records_reconcile", passed=bool(balanced), metadata={
                "ledger_rows_read": int(read), "ledger_rows_loaded": int(loaded),
                "ledger_rows_quarantined": int(quarantined), "raw_table_rows": int(in_raw),
                "quarantine_rows": int(in_quarantine)}),
        dg.AssetCheckResult(asset_key=key, check_name="quarantine_share",
                            passed=share <= QUARANTINE_WARN_SHARE,
                            severity=dg.AssetCheckSeverity.WARN,
                            metadata={"quarantined_share": round(share, 4), "reasons": reasons}),
        dg.AssetCheckResult(asset_key=key, check_name="files_accepted", passed=not rejected,
                            severity=dg.AssetCheckSeverity.WARN,
                            metadata={"files_rejected": rejected}),
    ]
