"""Publishing the marts for BI tools: a read-only DuckDB file and Parquet, swapped in atomically.

DuckDB lets one process write a database file and then no other process may open it, so BI
tools never read the warehouse itself. After a successful run, the marts are copied into a
new serving file (and a new folder of Parquet files) under a temporary name, and moved into
place with an atomic rename. A reader that has the old file open keeps reading the old copy;
a failed or blocked run never gets here, so the last good copy stays.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

SERVING_FILE = "referral_marts.duckdb"
PARQUET_LINK = "parquet"
DOCS_LINK = "dbt_docs"
PUBLICATION_TABLE = "_publication"
# Published beside the marts so a dashboard can show data quality and freshness without
# opening the warehouse: the latest result of every data-quality rule, and each source's
# latest delivery.
EXTRA_TABLES = {  # published name: (the table it needs, the query)
    "quality_rule_results": ("quality.rule_results", "select * from quality.rule_results"),
    "source_freshness": ("raw._load_ledger", """
        select source, entity, max(loaded_at) as last_loaded_at, count(*) as files_loaded,
            sum(rows_loaded) as rows_loaded
        from raw._load_ledger where status = 'loaded' group by source, entity"""),
}


@dataclass(frozen=True)
class Publication:
    """What was published: where, which tables, from which run."""

    database: Path
    parquet_dir: Path
    tables: dict[str, int]
    run_id: str


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return the tables of the marts schema, in name order."""
    return [row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "and table_type = 'BASE TABLE' order by 1").fetchall()]


def publish(con: duckdb.DuckDBPyConnection, serving_dir: Path, run_id: str) -> Publication:
    """Copy every mart into a new serving file and Parquet folder, then swap them in."""
    serving_dir.mkdir(parents=True, exist_ok=True)
    tables = mart_tables(con)
    if not tables:
        raise RuntimeError("the warehouse has no marts to publish; run dbt first")
    staging_file = serving_dir / f".{SERVING_FILE}.{run_id}.tmp"
    parquet_dir = serving_dir / f"parquet-{run_id}"
    for leftover in (staging_file, parquet_dir):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        elif leftover.exists():
            leftover.unlink()
    parquet_dir.mkdir()
    counts: dict[str, int] = {}
    con.execute(f"attach '{staging_file}' as serving_build")
    try:
        for table in tables:
            con.execute(f"create table serving_build.main.{table} as "
                        f"select * from marts.{table}")
            counts[table] = con.execute(
                f"select count(*) from serving_build.main.{table}").fetchone()[0]
            con.execute(f"copy (select * from marts.{table}) to '{parquet_dir / table}.parquet' "
                        "(format parquet)")
        present = {row[0] for row in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()}
        for name, (needed, query) in EXTRA_TABLES.items():
            if needed in present:
                con.execute(f"create table serving_build.main.{name} as {query}")
        con.execute(f"""create table serving_build.main.{PUBLICATION_TABLE} as
            select now() as published_at, ? as run_id, ? as source_warehouse""",
                    [run_id, _database_path(con)])
    finally:
        con.execute("detach serving_build")
    os.replace(staging_file, serving_dir / SERVING_FILE)
    _swap_link(serving_dir, parquet_dir)
    return Publication(serving_dir / SERVING_FILE, parquet_dir, counts, run_id)


def _database_path(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select path from duckdb_databases() "
                       "where database_name = current_database()").fetchone()[0]


def publish_docs_site(serving_dir: Path, site_dir: Path, run_id: str) -> Path:
    """Copy dbt's static docs site (index, manifest, catalog) next to the serving copy."""
    published = serving_dir / f"{DOCS_LINK}-{run_id}"
    if published.exists():
        shutil.rmtree(published)
    published.mkdir(parents=True)
    for name in ("index.html", "manifest.json", "catalog.json"):
        shutil.copy2(site_dir / name, published / name)
    _swap_link(serving_dir, published, DOCS_LINK)
    return serving_dir / DOCS_LINK


def _swap_link(serving_dir: Path, folder: Path, link_name: str = PARQUET_LINK) -> None:
    """Point the link at the new folder atomically; remove that link's folders two runs old."""
    link = serving_dir / link_name
    temporary = serving_dir / f".{link_name}.{folder.name}.tmp"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    previous = link.resolve() if link.is_symlink() else None
    temporary.symlink_to(folder.name, target_is_directory=True)
    os.replace(temporary, link)
    for old in serving_dir.glob(f"{link_name}-*"):
        if old.is_dir() and old.resolve() not in (folder.resolve(), previous):
            shutil.rmtree(old, ignore_errors=True)
