"""Every SQL example in docs/analyst-guide.md runs on the warehouse's marts, as the guide says."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

GUIDE = Path(__file__).parents[1] / "docs" / "analyst-guide.md"


def test_the_guide_s_queries_run_on_the_warehouse_marts(handmade_world: Path) -> None:
    queries = re.findall(r"```sql\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert len(queries) == 7
    with duckdb.connect(str(handmade_world / "warehouse.duckdb"), read_only=True) as con:
        con.execute("set search_path = 'marts'")  # as the guide opens it
        answers = [con.execute(query).fetchall() for query in queries]
    # Worked out in tests/fixtures/handmade/README.md: 13 referred, 5 attended; the top
    # referrer of three sent 5 of 11 referrals; six leaked, one for each reason.
    assert answers[0] == [("Cardiology", 13, 5, 0.385)]
    assert [r[:2] for r in answers[1]] == [
        ("Booked slot passed with no outcome", 1), ("Cancelled and not rebooked", 1),
        ("Never scheduled", 1), ("No-show and not rebooked", 1), ("Referral withdrawn", 1),
        ("Sent out of network", 1)]
    assert [round(r[0], 4) for r in answers[3]] == [0.4545]
    # Last touch: CMP-1 spent 300 + 200 and earned nothing; CMP-2 spent 80 and earned 280;
    # CMP-3 spent nothing, so it has no ROI.
    assert dict((r[0], r[3]) for r in answers[4]) == {"Cardiology paid search": -1.0,
                                                      "Heart health email": 2.5,
                                                      "Heart health newsletter": None}
    # Only January's window has closed: 6 referred, 4 leaked (8, 3, 11, 13), none never
    # scheduled.
    assert [r[1:] for r in answers[5]] == [(6, 4, 0, 0.667)]
    # The worklist by liaison (README, "Monday morning"): Pat Liaison's five, two unassigned.
    assert answers[6] == [
        ("Pat Liaison", "Consult note not sent", 1, 38),
        ("Pat Liaison", "Booked slot passed with no outcome", 1, 34),
        ("Pat Liaison", "Not scheduled in time", 2, 30),
        ("Pat Liaison", "Cancelled or no-show not rebooked", 1, 24),
        ("Unassigned", "Consult note not sent", 2, 15),
    ]
