"""The forecast's interval macro (dbt_project/macros/count_interval.sql) against scipy.

The macro computes negative binomial (and Poisson) quantiles in portable SQL, from running
sums of log probability ratios. scipy.stats computes the same quantiles from the
distribution functions themselves. They must agree on every mean and dispersion the ladder
covers (mean + 10 standard deviations + 10 under 10,000), at both levels the project uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import product
from pathlib import Path

import numpy as np
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
MEANS = [0.001, 0.3, 1.0, 2.5, 7.0, 19.5, 60.0, 250.0, 900.0, 4000.0]
DISPERSIONS = [0.0, 0.02, 0.3, 1.5]
LEVELS = [0.95, 0.999]


def _within_ladder(mean: float, dispersion: float) -> bool:
    return mean + 10 * np.sqrt(mean * (1 + dispersion * mean)) + 10 < 10_000


def _scipy_interval(mean: float, dispersion: float, level: float) -> tuple[int, int]:
    tails = [(1 - level) / 2, 1 - (1 - level) / 2]
    if dispersion == 0:
        lower, upper = stats.poisson.ppf(tails, mean)
    else:
        size = 1 / dispersion
        lower, upper = stats.nbinom.ppf(tails, size, size / (size + mean))
    return int(lower), int(upper)


def _sql_intervals(scratch: Path, cases: list[tuple[int, float, float]]) -> dict:
    values = ", ".join(f"({i}, {mean!r}, {dispersion!r})" for i, mean, dispersion in cases)
    grid = (f"grid as (select * from (values {values}) "
            "as cases(case_id, mean_count, dispersion))")
    parts = [f"select {level} as level, * from ({{{{ count_interval('grid', ['case_id'], "
             f"'mean_count', 'dispersion', {level}) }}}}) as level_{n}"
             for n, level in enumerate(LEVELS)]
    query = f"with {grid} " + " union all ".join(parts)
    env = {**os.environ, "RW_DBT_TARGET": "duckdb",
           "RW_WAREHOUSE_PATH": str(scratch / "scratch.duckdb")}
    shown = subprocess.run(
        [str(DBT), "show", "--inline", query, "--limit", "-1", "--output", "json", "--quiet",
         "--profiles-dir", str(REPO / "profiles"), "--project-dir", str(REPO),
         "--target-path", str(scratch / "target"), "--log-path", str(scratch / "logs")],
        cwd=REPO, env=env, capture_output=True, text=True, check=True)
    rows = json.loads(shown.stdout)["show"]
    return {(round(row["level"], 3), row["case_id"]): (row["lower_count"], row["upper_count"])
            for row in rows}


def test_the_sql_quantiles_equal_scipy_s(tmp_path: Path) -> None:
    cases = [(i, mean, dispersion) for i, (mean, dispersion)
             in enumerate(product(MEANS, DISPERSIONS)) if _within_ladder(mean, dispersion)]
    assert len(cases) > 30  # the ladder covers most of the grid
    computed = _sql_intervals(tmp_path, cases)
    expected = {(level, i): _scipy_interval(mean, dispersion, level)
                for level in LEVELS for i, mean, dispersion in cases}
    assert computed == expected
