"""The benchmark's plain DuckDB script computes what our marts compute (issue 11).

`make benchmark` prints our run as a multiple of `benchmarks/plain_duckdb.py`; the ratio is
only honest while both sides compute the same numbers. This runs both on one clean generated
world and holds every core table equal, and shows the comparison notices a single row.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from benchmarks import plain_duckdb, reference_check
from tests.conftest import run_config, simulate


@pytest.fixture(scope="module")
def both_sides(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from orchestration.definitions import defs

    root = tmp_path_factory.mktemp("reference")
    landing, _ = simulate(root, clean=True, plain=True)
    result = defs.resolve_job_def("refresh_warehouse").execute_in_process(
        run_config=run_config(landing, root))
    assert result.success
    plain = root / "plain.duckdb"
    plain_duckdb.run(landing, plain)
    return root / "warehouse.duckdb", plain


def test_plain_script_equals_our_core_marts(both_sides: tuple[Path, Path]) -> None:
    warehouse, plain = both_sides
    result = reference_check.compare(warehouse, plain)
    assert set(result) == set(plain_duckdb.CORE_TABLES)
    for table, (rows, only_ours, only_theirs) in result.items():
        assert rows > 0, table
        assert (only_ours, only_theirs) == (0, 0), table
    assert reference_check.report(result)


def test_comparison_notices_one_changed_row(both_sides: tuple[Path, Path],
                                            tmp_path: Path) -> None:
    warehouse, plain = both_sides
    changed = tmp_path / "changed.duckdb"
    changed.write_bytes(plain.read_bytes())
    with duckdb.connect(str(changed)) as con:
        con.execute("update leakage set leakage_reason = 'never_scheduled' "
                    "where referral_id = (select min(referral_id) from leakage "
                    "where leakage_reason <> 'never_scheduled')")
    result = reference_check.compare(warehouse, changed)
    assert result["leakage"][1:] == (1, 1)
    assert result["funnel"][1:] == (0, 0)
    assert not reference_check.report(result)
