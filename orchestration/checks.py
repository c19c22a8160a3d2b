"""Asset checks on the extract-load layer: the books balance, and quarantine stays small.

These guard the loader itself (nothing lost, nothing counted twice); the rules about what the
data says (statuses, NPIs, referral sources) are the data-quality suites' job.
"""

import dagster as dg

from orchestration.assets.extract_load import raw_asset_key
from orchestration.extract.registry import ENTITIES
from orchestration.extract.spec import EntitySpec
from orchestration.load.warehouse import LEDGER_TABLE, QUARANTINE_TABLE
from orchestration.resources import WarehouseResource

QUARANTINE_WARN_SHARE = 0.05


def build_reconcile_check(spec: EntitySpec) -> dg.AssetChecksDefinition:
    """Return the blocking check that ledger, raw table and quarantine agree."""

    @dg.asset_check(asset=raw_asset_key(spec), name="records_reconcile", blocking=True,
                    description="Every record read is loaded or quarantined: ledger read = "
                                "raw rows + quarantined rows, over all loads.")
    def records_reconcile(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connection() as con:
            read, loaded, quarantined = con.execute(
                f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
                f"coalesce(sum(rows_quarantined), 0) from {LEDGER_TABLE} where entity = ?",
                [spec.table]).fetchone()
            in_raw = con.execute(f"select count(*) from raw.{spec.table}").fetchone()[0]
            in_quarantine = con.execute(
                f"select count(*) from {QUARANTINE_TABLE} where entity = ?",
                [spec.table]).fetchone()[0]
        balanced = read == loaded + quarantined and loaded == in_raw \
            and quarantined == in_quarantine
        return dg.AssetCheckResult(passed=bool(balanced), metadata={
            "ledger_rows_read": int(read), "ledger_rows_loaded": int(loaded),
            "ledger_rows_quarantined": int(quarantined), "raw_table_rows": int(in_raw),
            "quarantine_rows": int(in_quarantine)})

    return records_reconcile


def build_quarantine_share_check(spec: EntitySpec) -> dg.AssetChecksDefinition:
    """Return the warning check on the share of records quarantined so far."""

    @dg.asset_check(asset=raw_asset_key(spec), name="quarantine_share", blocking=True,
                    description=f"Warns when more than {QUARANTINE_WARN_SHARE:.0%} of the "
                                "records read were quarantined.")
    def quarantine_share(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connection() as con:
            read, quarantined = con.execute(
                f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_quarantined), 0) "
                f"from {LEDGER_TABLE} where entity = ?", [spec.table]).fetchone()
            reasons = dict(con.execute(
                f"select reason, count(*) from {QUARANTINE_TABLE} where entity = ? "
                "group by 1 order by 2 desc", [spec.table]).fetchall())
        share = quarantined / read if read else 0.0
        return dg.AssetCheckResult(
            passed=share <= QUARANTINE_WARN_SHARE, severity=dg.AssetCheckSeverity.WARN,
            metadata={"quarantined_share": round(share, 4), "reasons": reasons})

    return quarantine_share


def build_files_accepted_check(spec: EntitySpec) -> dg.AssetChecksDefinition:
    """Return the check that fails (as a warning) when this run rejected a whole file."""

    @dg.asset_check(asset=raw_asset_key(spec), name="files_accepted", blocking=True,
                    description="Fails, as a warning, when a landing file of this run could not "
                                "be read as a whole (wrong header, missing from the folder, not "
                                "the format); the other files and every mart still build.")
    def files_accepted(context: dg.AssetCheckExecutionContext,
                       warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connection() as con:
            rejected = dict(con.execute(
                f"select source_file, detail from {LEDGER_TABLE} where entity = ? "
                "and status = 'rejected' and run_id = ? order by 1",
                [spec.table, context.run.run_id]).fetchall())
        return dg.AssetCheckResult(passed=not rejected, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"files_rejected": rejected})

    return files_accepted


EXTRACT_CHECKS = [check for spec in ENTITIES
                  for check in (build_reconcile_check(spec), build_quarantine_share_check(spec),
                                build_files_accepted_check(spec))]
