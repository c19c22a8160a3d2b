"""Publishing the marts for BI tools: all of a publication changes at once, or none of it.

DuckDB lets one process write a database file and then no other process may open it, so BI
tools never read the warehouse itself. After a successful run, one publication is built in a
folder of its own under a temporary name: the marts as a DuckDB file and as Parquet, the
data-quality results and source freshness inside that file, dbt's docs site and the Great
Expectations Data Docs. The folder is renamed into `publications/`, and one symbolic link,
`current`, is swapped to it with an atomic rename: the copy, its Parquet, its quality
results and its docs change together. The stable names BI tools use
(`referral_marts.duckdb`, `parquet/`, `dbt_docs/`, `data_docs/`) are links through `current`.

A reader that has the old file open keeps reading the old copy until it reconnects; the
previous publication is kept for it. A failed or blocked run never gets here, and leftovers of
an interrupted publish (temporary folders) are removed by the next publish.
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
DATA_DOCS_LINK = "data_docs"
CURRENT_LINK = "current"
PUBLICATIONS_DIR = "publications"
PUBLICATION_TABLE = "_publication"
STABLE_LINKS = (SERVING_FILE, PARQUET_LINK, DOCS_LINK, DATA_DOCS_LINK)
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

    folder: Path
    tables: dict[str, int]
    run_id: str

    @property
    def database(self) -> Path:
        """Return the publication's DuckDB file (its own path, not the stable link)."""
        return self.folder / SERVING_FILE

    @property
    def parquet_dir(self) -> Path:
        """Return the publication's Parquet folder."""
        return self.folder / PARQUET_LINK


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return the tables of the marts schema, in name order."""
    return [row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "and table_type = 'BASE TABLE' order by 1").fetchall()]


def current_publication(serving_dir: Path) -> Path | None:
    """Return the folder of the current publication, or None before the first one."""
    link = serving_dir / CURRENT_LINK
    return link.resolve() if link.is_symlink() else None


def current_database(serving_dir: Path) -> Path:
    """Return the current publication's own DuckDB path (changes with every publication).

    Connect to this path, not the stable link, from a process that keeps connections: DuckDB
    caches a database per path inside a process, so a new connection to an unchanged path
    returns the old copy while any connection to it is open.
    """
    folder = current_publication(serving_dir)
    return folder / SERVING_FILE if folder else serving_dir / SERVING_FILE


def publish(con: duckdb.DuckDBPyConnection, serving_dir: Path, run_id: str,
            docs_site: Path | None = None, data_docs_site: Path | None = None) -> Publication:
    """Build a whole publication under a temporary name, then make it current at once."""
    tables = mart_tables(con)
    if not tables:
        raise RuntimeError("the warehouse has no marts to publish; run dbt first")
    clean_leftovers(serving_dir)
    publications = serving_dir / PUBLICATIONS_DIR
    publications.mkdir(parents=True, exist_ok=True)
    building = publications / f".{run_id}.tmp"
    building.mkdir()
    counts = _write_database_and_parquet(con, building, tables, run_id)
    for site, name in ((docs_site, DOCS_LINK), (data_docs_site, DATA_DOCS_LINK)):
        if site is not None and site.is_dir():
            shutil.copytree(site, building / name, symlinks=True)  # never what a link points to
    final = publications / run_id
    if final.exists():  # the same run published before (a re-executed step): replace it
        shutil.rmtree(final)
    os.replace(building, final)
    _point(serving_dir / CURRENT_LINK, Path(PUBLICATIONS_DIR) / run_id)
    for name in STABLE_LINKS:
        link = serving_dir / name
        if not (link.is_symlink() and os.readlink(link) == f"{CURRENT_LINK}/{name}"):
            _point(link, Path(CURRENT_LINK) / name)
    _remove_old_publications(serving_dir)
    return Publication(final, counts, run_id)


def _write_database_and_parquet(con: duckdb.DuckDBPyConnection, folder: Path,
                                tables: list[str], run_id: str) -> dict[str, int]:
    database, parquet = folder / SERVING_FILE, folder / PARQUET_LINK
    parquet.mkdir()
    counts: dict[str, int] = {}
    con.execute(f"attach '{database}' as serving_build")
    try:
        for table in tables:
            con.execute(f"create table serving_build.main.{table} as "
                        f"select * from marts.{table}")
            counts[table] = con.execute(
                f"select count(*) from serving_build.main.{table}").fetchone()[0]
            con.execute(f"copy (select * from marts.{table}) to '{parquet / table}.parquet' "
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
    return counts


def clean_leftovers(serving_dir: Path) -> list[Path]:
    """Remove what an interrupted publish left (temporary folders and links); return them.

    Also removes the layout before publications had folders of their own (versioned
    `parquet-<run>` and `dbt_docs-<run>` folders, a temporary serving file).
    """
    if not serving_dir.is_dir():
        return []
    removed = []
    candidates = [*serving_dir.glob(".*.tmp"), *serving_dir.glob(f"{PARQUET_LINK}-*"),
                  *serving_dir.glob(f"{DOCS_LINK}-*"),
                  *(serving_dir / PUBLICATIONS_DIR).glob(".*.tmp")]
    for path in candidates:
        _remove(path)
        removed.append(path)
    return removed


def _remove_old_publications(serving_dir: Path, keep: int = 2) -> None:
    """Keep the current publication and the one before it (readers may still hold it)."""
    current = current_publication(serving_dir)
    folders = sorted((p for p in (serving_dir / PUBLICATIONS_DIR).iterdir()
                      if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    kept = [p for p in folders if p == current] + [p for p in folders if p != current]
    for old in kept[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _point(link: Path, target: Path) -> None:
    """Make ``link`` a symbolic link to ``target`` with one atomic rename."""
    temporary = link.parent / f".{link.name}.link.tmp"
    _remove(temporary)
    temporary.symlink_to(target)
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)  # a real folder where a link belongs (an old layout)
    os.replace(temporary, link)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def _database_path(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select path from duckdb_databases() "
                       "where database_name = current_database()").fetchone()[0]
