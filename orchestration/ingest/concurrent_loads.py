"""Loading many entities at once, each on a DuckDB cursor of its own, on both cores.

DuckDB spreads one statement over the cores it has, but much of a load is not one big
statement: Python parsers (SIU, CSV), a dozen small statements per entity, hashing new
files, writing Parquet. Loaded one after another, the 21 entities of a scale-1 world kept one
core busy and the other mostly idle (5.5 s); GA4 alone held the second core's work back
behind it at every scale. Entities share nothing but the bookkeeping tables (ledger,
quarantine, drift, file hashes), to which each only adds its own rows, so they can load side
by side: each in its own transactions on a cursor of one database (DuckDB checks
concurrent transactions itself and would refuse a conflicting commit rather than lose one).
What two loads would both create (the raw schema, the bookkeeping tables, the key's
fingerprint) is created first, by `prepare`, on one connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

import duckdb

from orchestration.ingest.entities.entity_spec import EntitySpec
from orchestration.ingest.key_fingerprint import check_key
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.warehouse import ensure_tables

LOAD_WORKERS = 2  # the machine's two cores; a third load only queued behind them
Result = TypeVar("Result")


def prepare(con: duckdb.DuckDBPyConnection, specs: list[EntitySpec],
            pseudonymizer: Pseudonymizer, run_id: str) -> None:
    """Create every table the loads will write and check the key, once, before they start."""
    for spec in specs:
        ensure_tables(con, spec)
    check_key(con, pseudonymizer, run_id)


def largest_first(landing: Path, specs: list[EntitySpec]) -> list[EntitySpec]:
    """Order entities by the bytes of their landing files, most first (no file is read).

    The longest load starts first, so the others fill the second core beside it rather than
    leaving it to finish alone. Only the order depends on this estimate, never a result.
    FHIR files are listed in manifests; Bulk Data servers name them `<Type>.<n>.ndjson`.
    """
    def size(spec: EntitySpec) -> int:
        folder = landing / spec.folder
        pattern = (f"{spec.resource_type}*.ndjson" if spec.file_format.listed_in_manifests
                   else spec.pattern)
        return sum(p.stat().st_size for p in folder.rglob(pattern)) if folder.is_dir() else 0

    return sorted(specs, key=size, reverse=True)


def each_on_its_own_cursor(con: duckdb.DuckDBPyConnection, specs: list[EntitySpec],
                           work: Callable[[duckdb.DuckDBPyConnection, EntitySpec], Result],
                           workers: int = LOAD_WORKERS,
                           ) -> Iterator[tuple[EntitySpec, Result | BaseException]]:
    """Run ``work`` for every entity, ``workers`` at a time, in the given order.

    Yields each entity with its result, or the exception it raised, as it ends; the others
    go on. Each runs on a cursor of its own, closed when it ends.
    """
    def run(spec: EntitySpec) -> Result:
        cursor = con.cursor()
        try:
            return work(cursor, spec)
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        running: dict[Future[Result], EntitySpec] = {pool.submit(run, s): s for s in specs}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: specs.index(running[f])):
                spec = running.pop(future)
                error = future.exception()
                yield spec, (future.result() if error is None else error)
