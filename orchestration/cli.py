"""Command line: run the whole refresh through Dagster and print what it did."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration import settings
from orchestration.automation.pending_work import pending
from orchestration.runtime.file_modes import keep_files_private
from orchestration.runtime.run_state import last_run
from orchestration.runtime.writer_lock import Holder, writer_busy
from orchestration.serve.publication import OPERATIONS_FILE, SERVING_FILE
from orchestration.transform import dbt_parse_ahead, dbt_warm
from orchestration.transform.dbt_manifest import manifest_is_stale

if TYPE_CHECKING:
    import dagster as dg

EXIT_BUSY = 75  # EX_TEMPFAIL: try again later


def _warnings(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The run's own warning messages (not Dagster's), each once, in the order logged."""
    import logging

    seen: dict[str, None] = {}
    for entry in instance.all_logs(run_id):
        lines = (entry.user_message or "").strip().splitlines()
        if entry.dagster_event is None and entry.level >= logging.WARNING and lines:
            seen.setdefault(lines[0][:240], None)
    return list(seen)


def _summarize(result: dg.ExecuteInProcessResult, warehouse: str, seconds: float,
               warnings: list[str]) -> int:
    rows, built, rejected, undelivered, unloaded = [], [], [], [], []
    engines: set[str | None] = set()
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        meta = {k: v.value for k, v in materialization.metadata.items()}
        name = materialization.asset_key.to_user_string()
        if "rows_read" not in meta:
            built.append(name)
            engines.add(meta.get("engine"))
            continue
        rows.append((name, meta["rows_read"], meta["rows_loaded"], meta["rows_quarantined"],
                     meta.get("dagster/row_count", 0)))
        rejected.extend(f"  rejected {file}: {reason}"
                        for file, reason in (meta.get("files_rejected") or {}).items())
        if meta.get("missing_folder"):
            undelivered.append(f"  {name}: {meta['missing_folder']}")
        unloaded.extend(f"  not loaded: {count} file(s) of FHIR {kind}"
                        for kind, count in (meta.get("unloaded_resource_types") or {}).items())
    print(f"\n{'asset':40} {'read':>9} {'loaded':>9} {'quarantined':>12} {'table rows':>11}")
    for name, read, loaded, quarantined, total in sorted(rows):
        print(f"{name:40} {read:>9} {loaded:>9} {quarantined:>12} {total:>11}")
    totals = [sum(r[i] for r in rows) for i in range(1, 4)]
    print(f"{'total':40} {totals[0]:>9} {totals[1]:>9} {totals[2]:>12}")
    if rejected:
        print(f"\nWARNING: {len(rejected)} landing file(s) rejected, the rest loaded "
              "(raw._load_ledger, status 'rejected'):")
        print("\n".join(sorted(set(rejected))))
    if undelivered:
        print(f"\nnot delivered yet ({len(undelivered)}; nothing to load, every mart still "
              "builds):")
        print("\n".join(undelivered))
    if unloaded:
        print("\nbulk-export manifests list resource types no entity reads:")
        print("\n".join(sorted(set(unloaded))))
    layers: dict[str, int] = {}
    for name in built:
        layers[name.split("/")[0]] = layers.get(name.split("/")[0], 0) + 1
    print("\nbuilt: " + (", ".join(f"{n} {layer}" for layer, n in sorted(layers.items()))
                            or "nothing"))
    engines.discard(None)
    if engines:
        print(f"dbt models built on: {', '.join(sorted(engines))} (RW_DBT_TARGET)")
    evaluations = result.get_asset_check_evaluations()
    passed = [e for e in evaluations if e.passed]
    blocking = [e for e in evaluations if not e.passed and e.severity.value == "ERROR"]
    warned = [e for e in evaluations if not e.passed and e.severity.value != "ERROR"]
    print(f"\nchecks: {len(passed)} passed, {len(blocking)} failed (blocking), "
          f"{len(warned)} warned")
    for label, group in (("FAILED", blocking), ("warned", warned)):
        for evaluation in group:
            print(f"  {label:6} {evaluation.asset_key.to_user_string()} "
                  f"{evaluation.check_name}")
    print(f"warehouse: {warehouse}")
    serving = Path(settings.serving_dir())
    if (serving / OPERATIONS_FILE).exists():
        _print_service_requests(serving / OPERATIONS_FILE)
        print(f"BI copy (aggregates, suppressed): {serving / SERVING_FILE}; operational copy "
              f"(the dashboard's): {serving / OPERATIONS_FILE} (docs/bi.md)")
    from orchestration.quality.data_docs import docs_index

    docs = docs_index(Path(settings.quality_dir()))
    if docs.exists():
        print(f"data docs: {docs.as_uri()}")
    for failure in result.get_step_failure_events():
        error = failure.step_failure_data.error
        cause = error.cause if error and error.cause else error
        message = (cause.message if cause else "unknown error").strip().splitlines()[0]
        print(f"FAILED {failure.step_key}: {message}")
    if warnings:
        print(f"\nwarnings ({len(warnings)}, each once; every log line is in the log file):")
        print("\n".join(f"  {message}" for message in warnings[:10]))
    print(f"run {result.run_id} {'succeeded' if result.success else 'FAILED'} "
          f"in {seconds:.1f}s")
    return 0 if result.success else 1


def _print_service_requests(serving: Path) -> None:
    """Say how many ServiceRequests the referral definition counted, and why not the rest."""
    import duckdb

    try:
        with duckdb.connect(str(serving), read_only=True) as con:
            counts = con.execute(
                "select coalesce(exclusion_reason, 'referral'), service_request_kind, count(*) "
                "from fct_service_requests group by all order by 3 desc, 1, 2").fetchall()
    except duckdb.Error:  # a serving copy from before fct_service_requests
        return
    referrals = sum(n for reason, _, n in counts if reason == "referral")
    by_reason: dict[str, dict[str, int]] = {}
    for reason, kind, n in counts:
        if reason != "referral":
            kinds = by_reason.setdefault(reason.replace("_", " "), {})
            kinds[kind.replace("_", " ")] = kinds.get(kind.replace("_", " "), 0) + n
    print(f"\nservice requests: {referrals:,} referrals counted "
          "(marts.fct_service_requests; seeds/service_request_kind_rules.csv)")
    for reason, kinds in by_reason.items():
        detail = ", ".join(f"{n:,} {kind}" for kind, n in kinds.items())
        print(f"  not counted, {reason}: {sum(kinds.values()):,} ({detail})")


def run(argv: list[str]) -> int:
    """Materialize every asset in-process, recorded in the Dagster instance."""
    parser = argparse.ArgumentParser(prog="referral-warehouse run")
    parser.add_argument("--landing", help="landing folder (default: $RW_LANDING_DIR)")
    parser.add_argument("--warehouse", help="DuckDB file (default: $RW_WAREHOUSE_PATH)")
    parser.add_argument("--force", action="store_true",
                        help="run even when no landing file is new and the dbt project is "
                             "unchanged since the last good run")
    parser.add_argument("--no-wait", action="store_true",
                        help="exit at once (status 75) if another run is writing the warehouse "
                             "instead of waiting for it")
    args = parser.parse_args(argv)
    if args.landing:
        os.environ[settings.LANDING_ENV_VAR] = args.landing
    if args.warehouse:
        os.environ[settings.WAREHOUSE_ENV_VAR] = args.warehouse
    busy = writer_busy(settings.warehouse_path())
    work = None  # what is pending; None: refresh everything
    if busy is not None:
        who = busy.describe() if isinstance(busy, Holder) else "another process"
        if args.no_wait:
            print(f"the warehouse is being written by {who}; not starting (--no-wait)")
            return EXIT_BUSY
        print(f"the warehouse is being written by {who}; this run waits for it")
    elif not args.force and not manifest_is_stale():
        work = pending(Path(settings.landing_dir()), settings.warehouse_path())
        if not work.reasons:
            print(f"nothing new: no landing file is new and the dbt project is unchanged "
                  f"since run {last_run(settings.warehouse_path()).run_id}, whose marts are "
                  "published; nothing to do (--force runs anyway)")
            return 0
        print("refreshing: " + "; ".join(work.reasons))
    if busy is None:  # a warehouse another run is building gets its parse from that run
        dbt_parse_ahead.start(settings.warehouse_path())
    dbt_warm.start(dbt_parse_ahead.dbt_executable())  # dbt's imports, done while the run loads
    import dagster as dg

    from orchestration.automation.refresh_scope import refresh_selection
    from orchestration.transform.dbt_project import prepare

    prepare()
    from orchestration.definitions import defs  # reads the environment set above

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") \
        else dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    # Dagster's console log (warnings and errors) and dbt's per-node lines (dagster-dbt echoes
    # them to stdout) go to a log file; every event is also in the Dagster UI's run log.
    log_level = os.environ.get("RW_LOG_LEVEL", "WARNING")
    log_file = Path(settings.log_dir()) / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    print(f"running; dbt's output and Dagster's log go to {log_file}", flush=True)
    # The terminal gets the progress lines (written to the real stdout) and the summary.
    job = defs.resolve_job_def("refresh_warehouse")
    selection = refresh_selection(job, work)
    if selection is not None:
        print(f"only what the new files change: {len(selection)} of "
              f"{len(job.asset_layer.executable_asset_keys)} assets", flush=True)
    with log_file.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        result = job.execute_in_process(
            instance=instance, raise_on_error=False, asset_selection=selection,
            tags={settings.LAUNCHED_BY_TAG: "command line"},
            run_config={"loggers": {"console": {"config": {"log_level": log_level}},
                                    "progress": {"config": {"enabled": True}}}})
    code = _summarize(result, settings.warehouse_path(), time.perf_counter() - started,
                      _warnings(instance, result.run_id))
    print(f"log: {log_file}")
    return code


def rekey(argv: list[str]) -> int:
    """Build a new warehouse from the landing folder with a new pseudonymization key.

    Every keyed hash changes with the key, so a warehouse cannot be re-keyed in place: the
    new key ($RW_PSEUDONYMIZATION_KEY) builds a whole new warehouse file from the landing
    folder, while the old one stays as it was (a run with the new key against it is
    refused). The swap is one setting: point $RW_WAREHOUSE_PATH at the new file
    (docs/runbook.md, "Rotating the pseudonymization key").
    """
    from orchestration.ingest.key_fingerprint import recorded_fingerprint
    from orchestration.ingest.load_errors import ConfigurationError
    from orchestration.ingest.pseudonymize import Pseudonymizer, resolve_key
    from orchestration.ingest.warehouse import connect

    parser = argparse.ArgumentParser(prog="referral-warehouse rekey")
    parser.add_argument("--new-warehouse", required=True,
                        help="the DuckDB file to build with the new key (must not exist)")
    parser.add_argument("--landing", help="landing folder (default: $RW_LANDING_DIR)")
    args = parser.parse_args(argv)
    old, new = Path(settings.warehouse_path()), Path(args.new_warehouse).absolute()
    if new.exists():
        print(f"{new} exists: the new warehouse must be a new file")
        return 2
    if settings.raw_dataset_dir(new) == settings.raw_dataset_dir(old):
        print(f"{new} would share the raw datasets folder {settings.raw_dataset_dir(old)} "
              "with the old warehouse: put it in a folder of its own (and leave "
              f"{settings.RAW_DATASET_ENV_VAR} unset, or point it elsewhere)")
        return 2
    try:
        fingerprint = Pseudonymizer(resolve_key()[0]).fingerprint
    except ConfigurationError as error:
        print(error)
        return 2
    if old.exists():
        with connect(old, read_only=True) as con:
            previous = recorded_fingerprint(con)
        if previous == fingerprint:
            print(f"{old} is already keyed with this key (fingerprint {fingerprint}): set the "
                  "new key in RW_PSEUDONYMIZATION_KEY first")
            return 2
    print(f"re-keying: building {new} from the landing folder with the key of fingerprint "
          f"{fingerprint}; {old} is left as it is")
    code = run(["--force", "--warehouse", str(new)]
               + (["--landing", args.landing] if args.landing else []))
    if code == 0:
        print(f"\nre-keyed. Swap: set RW_WAREHOUSE_PATH={new} (and keep the new key in "
              f"RW_PSEUDONYMIZATION_KEY) for every run, then destroy {old} and the old key "
              "(docs/runbook.md).")
    return code


def extract_ehr(argv: list[str]) -> int:
    """Run one FHIR Bulk Data export from the configured EHR into the landing folder."""
    parser = argparse.ArgumentParser(
        prog="referral-warehouse extract-ehr",
        description="Export what changed in the EHR since the last export (RW_FHIR_BULK_*).")
    parser.add_argument("--landing", help="landing folder (default: $RW_LANDING_DIR)")
    args = parser.parse_args(argv)
    if args.landing:
        os.environ[settings.LANDING_ENV_VAR] = args.landing
    import dagster as dg

    from orchestration.definitions import defs

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") \
        else dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("extract_ehr").execute_in_process(
        instance=instance, raise_on_error=False,
        tags={settings.LAUNCHED_BY_TAG: "command line"},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    for failure in result.get_step_failure_events():
        error = failure.step_failure_data.error
        print(f"the export failed: {error.message.strip().splitlines()[-1] if error else '?'}")
    for materialization in result.asset_materializations_for_node("landing__fhir_bulk_export"):
        metadata = {key: value.value for key, value in materialization.metadata.items()}
        print(f"landed {metadata['export_folder']}: {metadata['resources_by_type']} "
              f"(changes since {metadata['since']})")
    return 0 if result.success else 1


def listen_hl7(argv: list[str]) -> int:
    """Receive SIU messages over MLLP into the landing folder until stopped."""
    from orchestration.extract.mllp_receiver import main as receive

    return receive(argv, settings.landing_dir())


def dev(argv: list[str]) -> int:
    """`make dev`: the Dagster UI on this code location, stopped whole by Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="referral-warehouse dev")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address the UI listens on (default: this machine only)")
    parser.add_argument("--port", default="3000")
    args = parser.parse_args(argv)
    from orchestration.runtime.supervised import run_supervised
    from orchestration.transform.dbt_project import prepare

    prepare()  # the venv's dbt parses the project if it changed; dagster dev then loads it
    return run_supervised([sys.executable, "-m", "dagster", "dev", "-m",
                           "orchestration.definitions", "--host", args.host, "--port",
                           args.port])


COMMANDS = {"run": run, "rekey": rekey, "extract-ehr": extract_ehr, "listen-hl7": listen_hl7,
            "dev": dev}


def main() -> None:
    """Dispatch the subcommand."""
    keep_files_private()  # before anything creates a file: logs, Dagster's home, warehouse
    parser = argparse.ArgumentParser(prog="referral-warehouse",
                                     description="Referral Warehouse command line.")
    parser.add_argument("command", choices=sorted(COMMANDS),
                        help="run: refresh the warehouse; rekey: rebuild it with a new "
                             "pseudonymization key; extract-ehr: one FHIR Bulk Data export "
                             "into the landing folder; listen-hl7: receive SIU over MLLP; "
                             "dev: the Dagster UI")
    args, rest = parser.parse_known_args()
    exit_at_once(COMMANDS[args.command](rest))


def exit_at_once(code: int) -> None:
    """End the process without Python's teardown of every module a command imported.

    After a run had printed its summary, the interpreter took another 2.1 s to exit: freeing
    the objects of Dagster, Great Expectations, pandas and dbt's modules one by one (no
    atexit handler took more than a millisecond). The atexit handlers still run (logging's
    flush, file locks' release), the streams are flushed, and then the process ends.
    """
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
