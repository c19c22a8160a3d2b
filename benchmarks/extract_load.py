"""Benchmark: simulate a world at a given scale, then time extract-load per entity.

Prints generation time, rows per second per entity and peak memory. Figures go in
docs/benchmarks.md; tests never assert on time.

    python benchmarks/extract_load.py --scale 10 --months 12
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.loader import load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.warehouse import connect
from source_simulator.rates import DefectRates
from source_simulator.simulation import Simulation


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rw-bench-"))
    landing = workdir / "landing"

    started = time.perf_counter()
    Simulation(landing, workdir / "ground_truth.jsonl", seed=42, scale=args.scale,
               end=date(2026, 10, 31), months=args.months, defects=DefectRates()).run()
    generated = time.perf_counter() - started
    size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
    print(f"scale {args.scale}, {args.months} months: generated {size / 1e6:.0f} MB "
          f"in {generated:.1f}s")

    con = connect(workdir / "warehouse.duckdb")
    pseudonymizer = Pseudonymizer("benchmark-key-0123456789")
    total_rows, total_seconds = 0, 0.0
    print(f"{'entity':28} {'rows':>10} {'seconds':>8} {'rows/s':>10}")
    for spec in ENTITIES:
        started = time.perf_counter()
        report = load_entity(con, spec, landing, pseudonymizer)
        seconds = time.perf_counter() - started
        total_rows += report.rows_read
        total_seconds += seconds
        print(f"{spec.table:28} {report.rows_read:>10} {seconds:>8.2f} "
              f"{report.rows_read / seconds:>10.0f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'total':28} {total_rows:>10} {total_seconds:>8.2f} "
          f"{total_rows / total_seconds:>10.0f}")
    print(f"peak resident memory {peak_mb:.0f} MB; warehouse in {workdir}")


if __name__ == "__main__":
    main()
