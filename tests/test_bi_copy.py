"""The BI copy: aggregates only, month grain, no count from 1 to 10, no cell recoverable.

The suppression rules are checked on grids worked out by hand below; the BI copy itself on
the small generated world (conftest `demo_run`), against its own unsuppressed cells summed
again from the warehouse.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.serve.bi_copy import aggregate_sql, mart_column_types
from orchestration.serve.bi_tables import BI_TABLES, BiTable
from orchestration.serve.publication import SERVING_FILE, current_database
from orchestration.serve.suppression import SUPPRESSED_FLAG, apply, suppress

THRESHOLD = 11
GRID = BiTable("grid", "m", "a 3 x 3 grid", keys={"a": "a", "b": "b"}, counts=("n",))


def test_complementary_cells_protect_every_row_and_column_total() -> None:
    # a \\ b   b1  b2  b3      5 and 3 are primary. Keys in order: first the cells that
    # a1        5  20  30      differ only in a (each column). Column b1 has one hidden (5):
    # a2       40  50   3      its smallest other non-zero cell, 40, goes too; column b3 has
    # a3       60   0  70      one (3): 30 goes. Then each row: a1 hides 5 and 30, a2 hides
    #                          40 and 3, a3 none. Every row and column total now covers two
    #                          hidden cells or none: stable, with b2 and row a3 published.
    frame = pd.DataFrame({"a": ["a1"] * 3 + ["a2"] * 3 + ["a3"] * 3,
                          "b": ["b1", "b2", "b3"] * 3,
                          "n": [5, 20, 30, 40, 50, 3, 60, 0, 70]})
    hidden = suppress(frame, GRID, THRESHOLD)["n"].tolist()
    assert hidden == [True, False, True, True, False, True, False, False, False]


def test_a_lone_small_part_takes_another_part_with_it_and_rates_follow() -> None:
    table = BiTable("parts", "m", "one row", keys={"k": "k"},
                    counts=("total", "p1", "p2", "p3", "other"), base="total",
                    partitions=(("total", ("p1", "p2", "p3")),),
                    amounts={"lost": "p2"}, rates={"share": ("p2", "total"),
                                                    "rest": ("total - p1", "total")})
    row = {"k": ["x"], "total": [40], "p1": [4], "p2": [16], "p3": [20], "other": [12],
           "lost": [1600.0]}
    # p1 = 4 is primary; total - p2 - p3 would give it back, so p2 (16 < 20) goes too, and
    # its amount with it; total, p3 and other stay. Both rates read a hidden count.
    x = apply(pd.DataFrame(row), table, THRESHOLD).iloc[0]
    assert (x.total, x.p3, x.other) == (40, 20, 12)
    assert pd.isna(x.p1) and pd.isna(x.p2) and pd.isna(x.lost)
    assert pd.isna(x.share) and pd.isna(x.rest) and x[SUPPRESSED_FLAG]
    # A row whose base is small (7) is hidden whole, its zeros too.
    y = apply(pd.DataFrame({**row, "total": [7], "p1": [7], "p2": [0], "p3": [0],
                            "other": [30]}), table, THRESHOLD).iloc[0]
    assert y[["total", "p1", "p2", "p3", "other"]].isna().all()
    # With nothing small, every count, amount and rate is published as it is.
    clear = apply(pd.DataFrame({**row, "p1": [11]}), table, THRESHOLD).iloc[0]
    assert (clear.p1, clear.p2, clear.lost, clear.share, clear.rest) == (11, 16, 1600.0, 0.4,
                                                                         29 / 40)
    assert not clear[SUPPRESSED_FLAG]


@pytest.fixture(scope="module")
def bi_copy(demo_run) -> duckdb.DuckDBPyConnection:
    root, _, result = demo_run
    assert result.success
    con = duckdb.connect(str(current_database(root / "serving", SERVING_FILE)), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def cells(demo_run) -> dict[str, pd.DataFrame]:
    """Each BI table's cells as the warehouse sums them, before any suppression."""
    root, _, _ = demo_run
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return {t.name: con.execute(aggregate_sql(t, mart_column_types(con, t.mart))).df()
                for t in BI_TABLES}


def test_the_bi_copy_holds_only_the_aggregates_at_month_grain(bi_copy) -> None:
    tables = {row[0] for row in bi_copy.execute(
        "select table_name from information_schema.tables").fetchall()}
    assert tables == {t.name for t in BI_TABLES} | {
        "_bi_tables", "_publication", "quality_rule_results", "source_freshness"}
    columns = bi_copy.execute("select table_name, column_name, data_type "
                              "from information_schema.columns").fetchall()
    keyed = {c.name for spec in ENTITIES for c in spec.columns if c.pseudonymize}
    assert keyed >= {"patient_key", "mrn_key", "contact_key", "user_pseudo_id"}
    assert not [c for c in columns if c[1] in {"referral_id", "referral_number", *keyed}]
    timestamps = [c for c in columns if c[2].startswith("TIMESTAMP")]
    assert {(t, c) for t, c, _ in timestamps} == {
        ("_publication", "published_at"), ("source_freshness", "last_loaded_at"),
        ("quality_rule_results", "checked_at")}  # when published, not when anything happened
    for table, column, _ in (c for c in columns if c[2] == "DATE"):
        days = bi_copy.execute(f'select distinct day("{column}") from {table}').fetchall()
        assert days in ([(1,)], []), f"{table}.{column} is finer than a month"


@pytest.mark.parametrize("table", BI_TABLES, ids=lambda t: t.name)
def test_no_published_count_is_small(bi_copy, table: BiTable) -> None:
    for column in table.counts:
        small = bi_copy.execute(f'select count(*) from {table.name} where "{column}" > 0 '
                                f'and "{column}" < {THRESHOLD}').fetchone()[0]
        assert small == 0, f"{table.name}.{column}"


@pytest.mark.parametrize("table", BI_TABLES, ids=lambda t: t.name)
def test_no_suppressed_cell_can_be_recovered_from_a_total(bi_copy, cells, table) -> None:
    keys = list(table.keys)
    published = bi_copy.execute(f"select * from {table.name}").df()
    truth = cells[table.name]
    assert len(published) == len(truth)
    merged = truth.merge(published[[*keys, *table.counts]], on=keys, suffixes=("", "_shown"),
                         validate="one_to_one")
    for column in table.counts:
        hidden = merged[f"{column}_shown"].isna()
        # A hidden cell is a small one or a complement, never a value the marts lack.
        assert merged.loc[hidden, column].notna().all()
        for key in keys:
            others = [k for k in keys if k != key]
            groups = merged.groupby(others, dropna=False) if others else [((), merged)]
            for _, group in groups:
                lone = group[f"{column}_shown"].isna().sum() == 1
                rest = group.loc[group[f"{column}_shown"].notna(), column]
                # One hidden cell beside published non-zero ones: total minus them gives it.
                assert not (lone and (rest > 0).any()), (
                    f"{table.name}.{column}: a lone hidden cell along {key}")
    for total, parts in table.partitions:
        shown = merged[[f"{c}_shown" for c in (total, *parts)]].isna().sum(axis=1)
        assert not (shown == 1).any(), f"{table.name}: a lone hidden part of {total}"
    if table.base:
        base_hidden = merged[f"{table.base}_shown"].isna()
        for column in table.counts:
            assert merged.loc[base_hidden, f"{column}_shown"].isna().all()
    assert (published[SUPPRESSED_FLAG] == published[list(table.counts)].isna().any(axis=1)).all()


def test_rates_are_recomputed_from_published_counts_only(bi_copy) -> None:
    frame = bi_copy.execute("select * from referral_funnel_monthly").df()
    known = frame.leaked_count.notna() & frame.referred_count.notna()
    assert frame.loc[~known, "leakage_rate"].isna().all()
    recomputed = frame.loc[known, "leaked_count"] / frame.loc[known, "referred_count"]
    assert (frame.loc[known, "leakage_rate"] - recomputed).abs().max() < 1e-12


def test_the_operational_copy_keeps_every_mart_per_referral(demo_run) -> None:
    root, _, _ = demo_run
    with duckdb.connect(str(current_database(root / "serving")), read_only=True) as con:
        referrals = con.execute("select count(*) from fct_referrals").fetchone()[0]
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        assert referrals == con.execute("select count(*) from marts.fct_referrals").fetchone()[0]
    assert Path(current_database(root / "serving")).name == "operations.duckdb"
