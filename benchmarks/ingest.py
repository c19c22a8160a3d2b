"""Benchmark: our loader against DuckDB's own reader on the same files, per format.

For each format the loader's time (parse, type, pseudonymize, deduplicate, quarantine,
ledger, Parquet raw dataset) is compared with a plain DuckDB script loading the same files
into a table of a database file with its native reader: `read_json` for FHIR and GA4
NDJSON, `read_csv` for the CRM exports. DuckDB has no HL7 v2 reader: SIU is compared with
`read_csv` reading the files' segments as lines, the least a plain script must do. Prints
one line per format with the ratio (plain / ours: 1.0 means as fast as DuckDB alone).
Figures go in docs/benchmarks.md; tests never time anything.

    python benchmarks/ingest.py --scale 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.landing import discover
from orchestration.ingest.loader import load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.raw_datasets import RawDatasets
from orchestration.ingest.warehouse import connect
from source_simulator.rates import DefectRates
from source_simulator.simulation import Simulation

PLAIN = {
    # The generated world has malformed records on purpose; a plain script that does not
    # skip them fails on the first one, so the baseline skips them silently.
    "fhir_ndjson": "read_json({files}, format = 'newline_delimited', union_by_name = true, "
                   "ignore_errors = true)",
    "ga4_ndjson": "read_json({files}, format = 'newline_delimited', union_by_name = true, "
                  "ignore_errors = true)",
    "crm_csv": "read_csv({files}, union_by_name = true, ignore_errors = true)",
    "hl7_siu": "read_csv({files}, columns = {{'line': 'VARCHAR'}}, header = false, "
               "delim = chr(1), quote = '', new_line = '\\r')",
}


def main() -> None:
    """Generate (or reuse) a world, then time both loaders per format."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rw-ingest-"))
    landing = workdir / "landing"
    if not landing.exists():
        Simulation(landing, workdir / "ground_truth.jsonl", seed=42, scale=args.scale,
                   end=date(2026, 10, 31), months=12, defects=DefectRates()).run()
    ours: dict[str, float] = {}
    rows: dict[str, int] = {}
    plain: dict[str, float] = {}
    con = connect(workdir / f"ours-{time.time_ns()}.duckdb")
    pseudonymizer = Pseudonymizer("benchmark-key-" + "0123456789abcdef" * 2)
    datasets = RawDatasets(workdir / f"raw-datasets-{time.time_ns()}")
    for spec in ENTITIES:
        kind = spec.file_format.name
        started = time.perf_counter()
        report = load_entity(con, spec, landing, pseudonymizer, raw_datasets=datasets)
        ours[kind] = ours.get(kind, 0.0) + time.perf_counter() - started
        rows[kind] = rows.get(kind, 0) + report.rows_read
        files = [str(f.path) for f in discover(landing, spec).files]
        if not files:  # an entity the world delivers nothing for (no HealthcareService)
            continue
        # Into a database file, as ours: a table in memory skips compressing and writing.
        plain_file = workdir / f"plain-{spec.table}-{time.time_ns()}.duckdb"
        with duckdb.connect(str(plain_file)) as reference:
            started = time.perf_counter()
            reference.execute(f"create table t as select * from "
                              f"{PLAIN[kind].format(files=files)}")
            plain[kind] = plain.get(kind, 0.0) + time.perf_counter() - started
    con.close()
    print(f"{'format':12} {'records':>9} {'ours s':>8} {'DuckDB s':>9} {'ratio':>6}")
    for kind in sorted(ours):
        print(f"{kind:12} {rows[kind]:>9} {ours[kind]:>8.2f} {plain[kind]:>9.2f} "
              f"{plain[kind] / ours[kind]:>6.2f}")


if __name__ == "__main__":
    main()
