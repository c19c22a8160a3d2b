"""Backtest of the referrer forecast (docs/metrics.md, "Forecast"), and the candidates it beat.

The warehouse makes its forecast at the as-of moment and at backtest origins 90, 120, 150
and 180 days back (`intermediate.int_referrer_forecasts`), each for the referrers known
there. For every origin whose 90 days after have passed, the forecast is scored against
the referrals that came: mean absolute error (MAE) and how often the 95% interval held the
actual count. Beside it, on the same referrers and origins:

- naive: "the next 90 days repeat the last 90" (the bar the forecast must beat);
- the rule before this one: the 365-day rate with a normal-approximation band;
- a pooled negative binomial regression (statsmodels) on the last 90 days and the rate
  before them, fitted on the origins whose outcome was known at the scored origin.

    python benchmarks/forecast_backtest.py                 # builds seeds 7 and 42, then scores
    python benchmarks/forecast_backtest.py --warehouse data/warehouse/referral_warehouse.duckdb
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pipeline  # benchmarks/ is the script's folder
from scipy import stats
from statsmodels.discrete.discrete_model import NegativeBinomial

from source_simulator.rates import DefectRates
from source_simulator.simulation import Simulation

HORIZON_DAYS = 90
# The worlds of docs/benchmarks.md: seed 7 to the end of April, the demo's seed 42 to October.
WORLDS = {7: date(2026, 4, 30), 42: date(2026, 10, 31)}

FORECASTS_SQL = """
select origin_days_before, referring_practitioner_id, history_days, history_referral_count,
       recent_referral_count, expected_count, lower_count, upper_count, dispersion,
       following_referral_count
from intermediate.int_referrer_forecasts
"""


def score(name: str, actual: np.ndarray, forecast: np.ndarray,
          lower: np.ndarray | None, upper: np.ndarray | None) -> dict[str, object]:
    """MAE and interval coverage of one candidate on the scored pairs."""
    inside = None if lower is None else float(np.mean((actual >= lower) & (actual <= upper)))
    return {"candidate": name, "pairs": len(actual),
            "mae": float(np.mean(np.abs(actual - forecast))), "inside_95": inside}


def previous_rule(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rule until 2026-12: the history's rate, expected +/- 1.96 sqrt(expected)."""
    expected = pairs.history_referral_count.to_numpy() * HORIZON_DAYS / pairs.history_days
    spread = 1.96 * np.sqrt(expected)
    return expected.to_numpy(), np.maximum(0, expected - spread), expected + spread


def _regressors(frame: pd.DataFrame) -> pd.DataFrame:
    earlier_days = np.maximum(frame.history_days - HORIZON_DAYS, 1)
    earlier_rate = ((frame.history_referral_count - frame.recent_referral_count)
                    * HORIZON_DAYS / earlier_days)
    return pd.DataFrame({"const": 1.0, "log_recent": np.log1p(frame.recent_referral_count),
                         "log_earlier_rate": np.log1p(earlier_rate)})


def regression(train: pd.DataFrame, scored: pd.DataFrame) -> tuple[np.ndarray, ...] | None:
    """Statsmodels' negative binomial on the other origins; None without enough of them."""
    if len(train) < 30:
        return None
    fitted = NegativeBinomial(train.following_referral_count.to_numpy(float),
                              _regressors(train)).fit(disp=0, maxiter=300)
    expected = fitted.predict(_regressors(scored)).to_numpy()
    size = 1 / fitted.params["alpha"]
    probability = size / (size + expected)
    return (expected, stats.nbinom.ppf(0.025, size, probability),
            stats.nbinom.ppf(0.975, size, probability))


def backtest(warehouse: Path) -> list[dict[str, object]]:
    """Score the forecast and its candidates on one built warehouse."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        forecasts = con.execute(FORECASTS_SQL).df()
    pairs = forecasts[forecasts.following_referral_count.notna()]
    actual = pairs.following_referral_count.to_numpy(float)
    results = [
        score("the forecast (change test, negative binomial)", actual,
              pairs.expected_count.to_numpy(), pairs.lower_count.to_numpy(),
              pairs.upper_count.to_numpy()),
        score("naive: the last 90 days", actual, pairs.recent_referral_count.to_numpy(float),
              None, None),
        score("the rule before: 365-day rate, normal band", actual, *previous_rule(pairs)),
    ]
    # The regression needs origins whose outcome was known at the scored one: score the
    # nearest origin, trained on those a horizon or more before it.
    nearest = pairs[pairs.origin_days_before == pairs.origin_days_before.min()]
    train = pairs[pairs.origin_days_before >= nearest.origin_days_before.min() + HORIZON_DAYS]
    fitted = regression(train, nearest)
    if fitted is not None:
        near_actual = nearest.following_referral_count.to_numpy(float)
        results += [
            score("  nearest origin only: the forecast", near_actual,
                  nearest.expected_count.to_numpy(), nearest.lower_count.to_numpy(),
                  nearest.upper_count.to_numpy()),
            score("  nearest origin only: naive", near_actual,
                  nearest.recent_referral_count.to_numpy(float), None, None),
            score("  nearest origin only: statsmodels NB regression", near_actual, *fitted),
        ]
    dispersion = float(forecasts.dispersion.iloc[0]) if len(forecasts) else 0.0
    print(f"\n{warehouse}: {len(pairs)} referrer-origin pairs scored, "
          f"mean actual {np.mean(actual):.2f}, fitted dispersion {dispersion:.3f}")
    print(f"  {'candidate':52s} {'pairs':>5s} {'MAE':>6s} {'inside 95%':>10s}")
    for row in results:
        inside = "-" if row["inside_95"] is None else f"{row['inside_95']:.1%}"
        print(f"  {row['candidate']:52s} {row['pairs']:5d} {row['mae']:6.3f} {inside:>10s}")
    return results


def build_world(seed: int, end: date, root: Path) -> Path:
    """Generate a clean 12-month world and build it with `referral-warehouse run`."""
    workdir = root / f"seed-{seed}"
    Simulation(workdir / "landing", workdir / "ground_truth.jsonl", seed=seed, scale=1.0,
               end=end, months=12, defects=DefectRates.none()).run()
    seconds, _ = pipeline.timed_run(workdir, "run")
    print(f"seed {seed} (12 months to {end}): built in {seconds:.0f}s")
    return workdir / "warehouse.duckdb"


def main() -> None:
    """Backtest the given warehouse, or build and backtest the worlds of docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, help="a built warehouse file to score")
    args = parser.parse_args()
    if args.warehouse:
        backtest(args.warehouse)
        return
    with tempfile.TemporaryDirectory(prefix="rw-forecast-") as root:
        for seed, end in WORLDS.items():
            backtest(build_world(seed, end, Path(root)))


if __name__ == "__main__":
    sys.exit(main())
