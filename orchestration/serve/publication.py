"""Publishing the marts: two copies for two audiences; all of a publication changes at once.

DuckDB lets one process write a database file and then no other process may open it, so no
reader opens the warehouse itself. After a successful run, one publication is built in a
folder of its own under a temporary name, holding two copies (docs/bi.md, docs/privacy.md):

- the **BI copy** (`referral_marts.duckdb` and `parquet/`), what a BI tool or an analyst's
  group opens: aggregates only, month grain or coarser, small cells suppressed in the data
  (orchestration/serve/bi_tables.py), with the quality verdicts and source freshness. Mode
  0640 in 0750 folders, so a BI group can be given it and nothing else;
- the **operational copy** (`operations.duckdb`): every mart, per referral, with the quality
  results and freshness, for the dashboard's coordinators and liaisons. Owner-only (0600),
  like the warehouse;

plus dbt's docs site and the Great Expectations Data Docs (owner-only; the dashboard serves
them). The folder is renamed into `publications/`, and one symbolic link, `current`, is
swapped to it with an atomic rename: both copies and the docs change together. The stable
names (`referral_marts.duckdb`, `parquet/`, `operations.duckdb`, `dbt_docs/`, `data_docs/`)
are links through `current`.

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

from orchestration.runtime.file_modes import let_group_traverse, share_with_group
from orchestration.serve import offline_data_docs
from orchestration.serve.bi_copy import write_bi_copy
from orchestration.serve.suppression import DEFAULT_THRESHOLD

SERVING_FILE = "referral_marts.duckdb"  # the BI copy
OPERATIONS_FILE = "operations.duckdb"   # the operational copy, for the dashboard
PARQUET_LINK = "parquet"
DOCS_LINK = "dbt_docs"
DATA_DOCS_LINK = "data_docs"
CURRENT_LINK = "current"
PUBLICATIONS_DIR = "publications"
PUBLICATION_TABLE = "_publication"
STABLE_LINKS = (SERVING_FILE, OPERATIONS_FILE, PARQUET_LINK, DOCS_LINK, DATA_DOCS_LINK)
BI_COPY_PARTS = (SERVING_FILE, PARQUET_LINK)
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
# The BI copy's versions: verdicts and deliveries, without counts of records.
BI_EXTRA_TABLES = {
    "quality_rule_results": ("quality.rule_results", """
        select suite, asset_key, rule, severity, success, run_id, checked_at
        from quality.rule_results"""),
    "source_freshness": ("raw._load_ledger", """
        select source, entity, max(loaded_at) as last_loaded_at
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
        """Return the publication's BI copy (its own path, not the stable link)."""
        return self.folder / SERVING_FILE

    @property
    def operations_database(self) -> Path:
        """Return the publication's operational copy (its own path)."""
        return self.folder / OPERATIONS_FILE

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


def current_database(serving_dir: Path, copy: str = OPERATIONS_FILE) -> Path:
    """Return the current publication's own path of a copy (changes with every publication).

    The operational copy by default (the dashboard's); ``SERVING_FILE`` for the BI copy.
    Connect to this path, not the stable link, from a process that keeps connections: DuckDB
    caches a database per path inside a process, so a new connection to an unchanged path
    returns the old copy while any connection to it is open.
    """
    folder = current_publication(serving_dir)
    return folder / copy if folder else serving_dir / copy


def publish(con: duckdb.DuckDBPyConnection, serving_dir: Path, run_id: str,
            docs_site: Path | None = None, data_docs_site: Path | None = None,
            suppress_below: int = DEFAULT_THRESHOLD) -> Publication:
    """Build a whole publication under a temporary name, then make it current at once."""
    tables = mart_tables(con)
    if not tables:
        raise RuntimeError("the warehouse has no marts to publish; run dbt first")
    clean_leftovers(serving_dir)
    publications = serving_dir / PUBLICATIONS_DIR
    publications.mkdir(parents=True, exist_ok=True)
    building = publications / f".{run_id}.tmp"
    building.mkdir()
    counts = _write_operational_copy(con, building, tables, run_id)
    _write_bi_copy(con, building, run_id, suppress_below)
    for site, name in ((docs_site, DOCS_LINK), (data_docs_site, DATA_DOCS_LINK)):
        if site is not None and site.is_dir():
            shutil.copytree(site, building / name, symlinks=True)  # never what a link points to
    if (building / DATA_DOCS_LINK).is_dir():
        offline_data_docs.localize(building / DATA_DOCS_LINK)
    for part in BI_COPY_PARTS:  # the one part a BI group may read, and the way to it
        share_with_group(building / part)
    for folder in (building, publications, serving_dir):
        let_group_traverse(folder)
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


def _write_operational_copy(con: duckdb.DuckDBPyConnection, folder: Path,
                            tables: list[str], run_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    con.execute(f"attach '{folder / OPERATIONS_FILE}' as operations_build")
    try:
        for table in tables:
            con.execute(f"create table operations_build.main.{table} as "
                        f"select * from marts.{table}")
            counts[table] = con.execute(
                f"select count(*) from operations_build.main.{table}").fetchone()[0]
        _write_extras(con, "operations_build", EXTRA_TABLES, run_id)
    finally:
        con.execute("detach operations_build")
    return counts


def _write_bi_copy(con: duckdb.DuckDBPyConnection, folder: Path, run_id: str,
                   suppress_below: int) -> dict[str, int]:
    parquet = folder / PARQUET_LINK
    parquet.mkdir()
    con.execute(f"attach '{folder / SERVING_FILE}' as bi_build")
    try:
        counts = write_bi_copy(con, "bi_build", parquet, suppress_below)
        _write_extras(con, "bi_build", BI_EXTRA_TABLES, run_id)
    finally:
        con.execute("detach bi_build")
    return counts


def _write_extras(con: duckdb.DuckDBPyConnection, database: str,
                  extras: dict[str, tuple[str, str]], run_id: str) -> None:
    present = {row[0] for row in con.execute(
        "select table_schema || '.' || table_name from information_schema.tables").fetchall()}
    for name, (needed, query) in extras.items():
        if needed in present:
            con.execute(f"create table {database}.main.{name} as {query}")
    con.execute(f"""create table {database}.main.{PUBLICATION_TABLE} as
        select now() as published_at, ? as run_id, ? as source_warehouse""",
                [run_id, _database_path(con)])


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
