"""The `_text` view a SQL reader leaves behind, over Arrow tables registered for one batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    from orchestration.ingest.landing import LandingFile


def text_view(con: duckdb.DuckDBPyConnection, batch: list[LandingFile],
              tables: dict[str, pa.Table], select: str) -> Callable[[], None]:
    """Make `_text` from ``select`` over ``tables``; return what drops them all again.

    Besides ``tables``, `_files` is registered: each file's `file_index` and `relative` path.
    The records stay in Arrow until the classification reads the view once: a table would
    only copy them.
    """
    for name, table in tables.items():
        con.register(name, table)
    con.register("_files", pa.table({"file_index": pa.array(range(len(batch)), pa.int32()),
                                     "relative": [f.relative for f in batch]}))
    con.execute(f"create or replace temp view _text as {select}")

    def release() -> None:
        con.execute("drop view _text")
        for name in [*tables, "_files"]:
            con.unregister(name)
    return release
