"""dbt's docs catalog (`catalog.json`), written from DuckDB's own catalog in this process.

After a build, `dbt docs generate --no-compile` took 2.3 s of a scale-1 run to run one query:
the columns of every relation in the project's schemas (dbt-duckdb's `duckdb__get_catalog`),
matched to the manifest's models, seeds, snapshots and sources. Almost all of it was dbt
starting and loading its manifest. This runs the same query on the run's own connection and
writes the artifact with dbt's own classes, so the docs site reads it as it reads dbt's;
tests/test_dbt_catalog.py holds it equal to `dbt docs generate`'s, relation for relation.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from dbt.artifacts.schemas.catalog import CatalogArtifact
from dbt_common.contracts.metadata import (
    CatalogTable,
    ColumnMetadata,
    StatsItem,
    TableMetadata,
)

# What dbt's `format_stats` gives a relation without statistics, as DuckDB's are.
NO_STATS = {"has_stats": StatsItem(id="has_stats", label="Has Stats?", value=False,
                                   description="Indicates whether there are statistics for "
                                               "this table", include=False)}
RELATIONAL = ("model", "seed", "snapshot")
# dbt-duckdb's catalog query (macros/catalog.sql in dbt-duckdb), for the given schemas.
CATALOG_SQL = """
    with relations as (
        select database_name, schema_name, table_name, 'BASE TABLE' as table_type, comment
        from duckdb_tables()
        union all
        select database_name, schema_name, view_name, 'VIEW', comment
        from duckdb_views()
    )
    select r.database_name, r.schema_name, r.table_name, r.table_type, r.comment,
        c.column_name, c.column_index, c.data_type, c.comment
    from relations r
    join duckdb_columns() c using (database_name, schema_name, table_name)
    where upper(r.database_name) = upper(?) and list_contains(?, upper(r.schema_name))
    order by r.schema_name, r.table_name, c.column_index"""


def _key(database: str | None, schema: str, name: str) -> tuple[str | None, str, str]:
    return (database.lower() if database else database, schema.lower(), name.lower())


def write_catalog(con: duckdb.DuckDBPyConnection, manifest_path: Path, catalog_path: Path) -> None:
    """Write the catalog of the relations the manifest names, as DuckDB describes them now."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    nodes = {_key(n["database"], n["schema"], n.get("alias") or n["name"]): unique_id
             for unique_id, n in manifest["nodes"].items()
             if n["resource_type"] in RELATIONAL
             and n.get("config", {}).get("materialized") != "ephemeral"}
    sources: dict[tuple[str | None, str, str], list[str]] = {}
    for unique_id, source in manifest["sources"].items():
        key = _key(source["database"], source["schema"], source["identifier"])
        sources.setdefault(key, []).append(unique_id)
    tables: dict[tuple[str | None, str, str], CatalogTable] = {}
    for database in sorted({key[0] for key in [*nodes, *sources] if key[0]}):
        schemas = sorted({key[1].upper() for key in [*nodes, *sources] if key[0] == database})
        for (db, schema, name, table_type, comment, column, index, column_type,
             column_comment) in con.execute(CATALOG_SQL, [database, schemas]).fetchall():
            table = tables.setdefault(_key(db, schema, name), CatalogTable(
                metadata=TableMetadata(type=table_type, schema=schema, name=name, database=db,
                                       comment=comment, owner=None),
                columns={}, stats=NO_STATS))
            table.columns[column] = ColumnMetadata(type=column_type, index=int(index),
                                                   name=column, comment=column_comment)
    CatalogArtifact.from_results(
        generated_at=datetime.now(UTC).replace(tzinfo=None),
        nodes={unique_id: replace(tables[key], unique_id=unique_id)
               for key, unique_id in nodes.items() if key in tables},
        sources={unique_id: replace(tables[key], unique_id=unique_id)
                 for key, unique_ids in sources.items() if key in tables
                 for unique_id in unique_ids},
        compile_results=None, errors=None,
    ).write(str(catalog_path))
