"""The serving copy: complete or not at all, swapped atomically, readable during a run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.warehouse import connect
from orchestration.serve.publication import (
    OPERATIONS_FILE,
    SERVING_FILE,
    clean_leftovers,
    current_database,
    publish,
)


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "warehouse.duckdb")
    con.execute("create schema marts")
    con.execute("create table marts.fct_referrals as select range as referral_id "
                "from range(3)")
    con.execute("create table marts.dim_practices as select 'p1' as id")
    yield con
    con.close()


def test_publish_writes_every_mart_and_its_provenance(warehouse, tmp_path) -> None:
    publication = publish(warehouse, tmp_path / "serving", "run-1")
    assert publication.tables == {"dim_practices": 1, "fct_referrals": 3}
    with duckdb.connect(str(tmp_path / "serving" / OPERATIONS_FILE), read_only=True) as reader:
        assert reader.execute("select run_id from _publication").fetchone() == ("run-1",)
        assert reader.execute("select count(*) from fct_referrals").fetchone() == (3,)
    # The BI copy holds the aggregates only: none of these marts is one.
    with duckdb.connect(str(tmp_path / "serving" / SERVING_FILE), read_only=True) as bi:
        assert bi.execute("select run_id from _publication").fetchone() == ("run-1",)
        assert bi.execute("select count(*) from information_schema.tables where table_name "
                          "like 'fct_%'").fetchone() == (0,)
    assert list((tmp_path / "serving" / "parquet").iterdir()) == []
    assert not list((tmp_path / "serving").rglob(".*.tmp"))


def test_a_reader_keeps_the_old_copy_until_it_reconnects(warehouse, tmp_path) -> None:
    serving = tmp_path / "serving"
    publish(warehouse, serving, "run-1")
    reader = duckdb.connect(str(current_database(serving)), read_only=True)
    warehouse.execute("insert into marts.fct_referrals values (3), (4)")
    publish(warehouse, serving, "run-2")
    assert reader.execute("select count(*), max(run_id) from fct_referrals, _publication"
                          ).fetchone() == (3, "run-1")
    # Regression (issue 10): while a connection to a path is open, DuckDB hands a new
    # connection in the same process the same old database; each publication's own path
    # is new, so a reconnect through current_database() sees the new copy at once.
    with duckdb.connect(str(current_database(serving)), read_only=True) as fresh:
        assert fresh.execute("select count(*), max(run_id) from fct_referrals, _publication"
                             ).fetchone() == (5, "run-2")
    reader.close()


def test_copy_parquet_and_docs_change_together(warehouse, tmp_path) -> None:
    serving = tmp_path / "serving"
    docs = tmp_path / "site"
    docs.mkdir()
    for run in ("run-1", "run-2"):
        (docs / "index.html").write_text(run)
        warehouse.execute("insert into marts.fct_referrals values (7)")
        publish(warehouse, serving, run, docs_site=docs, data_docs_site=docs)
    with duckdb.connect(str(current_database(serving)), read_only=True) as reader:
        assert reader.execute("select run_id from _publication").fetchone() == ("run-2",)
    assert (serving / "dbt_docs/index.html").read_text() == "run-2"
    assert (serving / "data_docs/index.html").read_text() == "run-2"
    assert (serving / "parquet").resolve().parent == current_database(serving).parent


def test_old_publications_and_leftovers_go(warehouse, tmp_path) -> None:
    serving = tmp_path / "serving"
    publish(warehouse, serving, "run-1")
    # What a publish killed midway leaves behind, and the layout before publications had
    # folders of their own.
    (serving / "publications" / ".run-x.tmp").mkdir()
    (serving / ".referral_marts.duckdb.run-y.tmp").write_text("half")
    (serving / "parquet-run-0").mkdir()
    for run in ("run-2", "run-3"):
        publish(warehouse, serving, run)
    assert sorted(p.name for p in (serving / "publications").iterdir()) == ["run-2", "run-3"]
    assert current_database(serving).parent.name == "run-3"
    assert not list(serving.rglob("*.tmp")) and not (serving / "parquet-run-0").exists()


def test_clean_leftovers_reports_what_it_removed(tmp_path) -> None:
    serving = tmp_path / "serving"
    (serving / "publications" / ".run-x.tmp").mkdir(parents=True)
    removed = clean_leftovers(serving)
    assert [p.name for p in removed] == [".run-x.tmp"]
    assert clean_leftovers(tmp_path / "absent") == []


def test_serving_copy_opens_while_another_process_writes_the_warehouse(warehouse,
                                                                      tmp_path) -> None:
    publish(warehouse, tmp_path / "serving", "run-1")
    warehouse.close()
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(tmp_path / 'warehouse.duckdb')!r})
        con.execute("insert into marts.fct_referrals values (9)")
        print("writing", flush=True)
        time.sleep(30)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
        with duckdb.connect(str(tmp_path / "serving" / OPERATIONS_FILE),
                            read_only=True) as copy:
            assert copy.execute("select count(*) from fct_referrals").fetchone() == (3,)
    finally:
        writer.kill()
        writer.wait()


def test_nothing_to_publish_is_an_error(tmp_path) -> None:
    con = connect(tmp_path / "empty.duckdb")
    with pytest.raises(RuntimeError, match="no marts to publish"):
        publish(con, tmp_path / "serving", "run-1")


def test_dbt_docs_are_regenerated_when_the_catalog_changes_not_the_rows(warehouse) -> None:
    from orchestration.serve.serving_asset import docs_fingerprint

    first = docs_fingerprint(warehouse)
    warehouse.execute("insert into marts.fct_referrals select range from range(3, 10)")
    assert docs_fingerprint(warehouse) == first  # more rows: the catalog is the same
    warehouse.execute("alter table marts.fct_referrals add column referral_status varchar")
    added = docs_fingerprint(warehouse)
    assert added != first
    warehouse.execute("comment on column marts.fct_referrals.referral_status is 'FHIR'")
    assert docs_fingerprint(warehouse) != added
    warehouse.execute("create view marts.v as select 1 as one")
    assert docs_fingerprint(warehouse) not in {first, added}


@pytest.mark.parametrize("attack", [
    "/dbt_docs/%2e%2e/referral_marts.duckdb", "/dbt_docs/%2E%2E/parquet/fct_referrals.parquet",
    "/dbt_docs/%252e%252e/referral_marts.duckdb", "/dbt_docs/..%2freferral_marts.duckdb",
    "/data_docs/%2e%2e%2f%2e%2e%2fwarehouse.duckdb", "/dbt_docs/../referral_marts.duckdb",
    "/dbt_docs/outside/secret.txt", "/referral_marts.duckdb", "/parquet/fct_referrals.parquet",
])
def test_the_docs_server_serves_only_the_docs_folders(warehouse, tmp_path, attack) -> None:
    import urllib.error
    import urllib.request

    from dashboard import docs_server

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html>docs</html>")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("not documentation")
    (site / "outside").symlink_to(elsewhere)  # a link inside the docs that leads out of them
    serving = tmp_path / "serving"
    publish(warehouse, serving, "run-1", docs_site=site, data_docs_site=site)
    base = docs_server.start(serving)
    for page in ("/dbt_docs/index.html", "/data_docs/index.html"):
        with urllib.request.urlopen(base + page, timeout=10) as answer:
            assert answer.status == 200 and b"docs" in answer.read()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + attack, timeout=10)
    assert refused.value.code == 404
