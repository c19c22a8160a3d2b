"""Benchmark: run every Great Expectations suite on an existing warehouse and time each.

    python benchmarks/quality.py data/warehouse/referral_warehouse.duckdb

Suites whose table is not in the warehouse are skipped. Figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from orchestration.ingest.warehouse import connect
from orchestration.quality.suites import load_suites
from orchestration.quality.validate import validate_suite


def main() -> None:
    """Validate each suite and print rows, seconds and rows per second."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("warehouse", type=Path)
    args = parser.parse_args()
    con = connect(args.warehouse)
    quality = Path(tempfile.mkdtemp(prefix="rw-quality-"))
    started = time.perf_counter()
    import great_expectations  # noqa: F401 - timed apart: the import alone takes seconds

    print(f"import great_expectations: {time.perf_counter() - started:.1f}s")
    print(f"{'suite':32} {'rows':>10} {'seconds':>8} {'rows/s':>10}")
    for suite in load_suites():
        started = time.perf_counter()
        try:
            outcome = validate_suite(con, suite, quality, "benchmark")
        except (duckdb.CatalogException, duckdb.BinderException):
            print(f"{suite.name:32} {'(table not built)':>10}")
            continue
        seconds = time.perf_counter() - started
        print(f"{suite.name:32} {outcome.row_count:>10} {seconds:>8.2f} "
              f"{outcome.row_count / seconds:>10.0f}")


if __name__ == "__main__":
    main()
