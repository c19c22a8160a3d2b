"""Hold the plain DuckDB script's numbers against our marts, row for row.

A speed ratio means something only if both sides computed the same thing. Each core table
of `benchmarks/plain_duckdb.py` is compared with the same columns read from our marts; rows
on one side only are counted both ways (EXCEPT ALL), and the check names every table that
differs with the share of its rows that do.

    python benchmarks/reference_check.py <warehouse.duckdb> <plain.duckdb>
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

# The same columns, from our marts: what plain_duckdb.py's core tables hold.
OURS = {
    "funnel": """
        select referral_month, specialty_code, sum(referred_count) as referred_count,
               sum(scheduled_count), sum(attended_count), sum(loop_closed_count),
               sum(leaked_count), sum(pending_count)
        from ours.marts.fct_referral_funnel group by all""",
    "leakage": "select referral_id, leakage_reason from ours.marts.fct_referral_leakage",
    "referrers": """
        select referring_practitioner_id, lifetime_referral_count, volume_rank, segment
        from ours.marts.dim_referring_providers""",
    "campaigns": """
        select campaign_id, performance_month, spend_amount::decimal(18, 2),
               attributed_lead_count::bigint
        from ours.marts.fct_campaign_performance
        where attribution_model = 'last_touch'
          and (spend_amount <> 0 or attributed_lead_count <> 0)""",
}
PLAIN = {
    "funnel": "select * from plain.funnel",
    "leakage": "select * from plain.leakage",
    "referrers": "select * from plain.referrers",
    "campaigns": """
        select campaign_id, performance_month, spend_amount::decimal(18, 2), last_touch_lead_count
        from plain.campaigns where spend_amount <> 0 or last_touch_lead_count <> 0""",
}


def compare(warehouse: Path, plain: Path) -> dict[str, tuple[int, int, int]]:
    """Per core table: (our rows, rows only in ours, rows only in the plain script's)."""
    con = duckdb.connect()
    con.execute(f"attach '{warehouse}' as ours (read_only)")
    con.execute(f"attach '{plain}' as plain (read_only)")
    result = {}
    for table, ours in OURS.items():
        theirs = PLAIN[table]
        rows = con.sql(f"select count(*) from ({ours})").fetchone()[0]
        only_ours = con.sql(f"select count(*) from ({ours} except all {theirs})").fetchone()[0]
        only_theirs = con.sql(f"select count(*) from ({theirs} except all {ours})").fetchone()[0]
        result[table] = (rows, only_ours, only_theirs)
    con.close()
    return result


def report(result: dict[str, tuple[int, int, int]]) -> bool:
    """Print one line per table; return whether every table is equal."""
    for table, (rows, only_ours, only_theirs) in result.items():
        verdict = "equal" if only_ours == only_theirs == 0 else (
            f"DIFFERENT: {only_ours} rows only in ours, {only_theirs} only in the script's "
            f"({(only_ours + only_theirs) / max(rows, 1):.2%})")
        print(f"  {table:<10} {rows:>7} rows  {verdict}")
    return all(o == t == 0 for _, o, t in result.values())


def main() -> None:
    """Command line: exit 1 when any core table differs."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("plain", type=Path)
    args = parser.parse_args()
    sys.exit(0 if report(compare(args.warehouse, args.plain)) else 1)


if __name__ == "__main__":
    main()
