"""Backtest of the referrer forecast (docs/metrics.md, "Forecast") on a built warehouse.

Each referrer's forecast made 90 days before the as-of moment (`prior_*` columns of
`fct_referrer_forecast`) is compared with the referrals that then came. Prints the mean
absolute error, the error of the naive forecast "the next 90 days repeat the 90 before"
for comparison, and how often the 95% interval held the actual count.

    python benchmarks/forecast_backtest.py data/warehouse/referral_warehouse.duckdb
"""

from __future__ import annotations

import sys

import duckdb

BACKTEST_SQL = """
with scored as (
    select f.referring_practitioner_id, f.recent_referral_count as actual,
           f.prior_expected_count as forecast, f.prior_lower_count as lower_count,
           f.prior_upper_count as upper_count,
           (select count(*) from marts.fct_referrals r, intermediate.int_reporting_dates d
            where r.referring_practitioner_id = f.referring_practitioner_id
              and r.referred_at > d.as_of_at - interval 180 day
              and r.referred_at <= d.as_of_at - interval 90 day) as previous_90_days
    from marts.fct_referrer_forecast f
    where f.prior_expected_count is not null
)
select count(*), avg(actual), avg(abs(actual - forecast)), avg(abs(actual - previous_90_days)),
       avg(case when actual between lower_count and upper_count then 1.0 else 0.0 end),
       count(*) filter (where actual < lower_count)
from scored
"""


def main(warehouse: str) -> None:
    """Print the backtest figures of the warehouse at ``warehouse``."""
    with duckdb.connect(warehouse, read_only=True) as con:
        referrers, mean_actual, mae, naive_mae, coverage, slipping = con.execute(
            BACKTEST_SQL).fetchone()
    print(f"referrers with a forecast from 90 days earlier: {referrers}")
    print(f"mean referrals in the 90 days that followed: {mean_actual:.2f}")
    print(f"mean absolute error, Poisson-rate forecast: {mae:.2f}")
    print(f"mean absolute error, naive 'same as the last 90 days': {naive_mae:.2f}")
    print(f"share of actual counts inside the 95% interval: {coverage:.1%}")
    print(f"referrers flagged slipping (below the interval): {slipping}")


if __name__ == "__main__":
    main(sys.argv[1])
