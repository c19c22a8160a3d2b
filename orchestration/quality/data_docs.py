"""Great Expectations' Data Docs: the last runs' validation results, rendered once each.

GX stores every validation result and, asked to build its Data Docs, renders a page for
every result it holds, every time (GX's own guide, "Limit Validation Results in Data
Docs", names the slowdown). With thirteen suites a run, the site's build cost about 0.23 s
more for every run stored: 1.0 s after three runs, 21.9 s after 93, about 85 s a run after a
year of daily runs, and every publication copies the whole site.

So each suite keeps the results of its last 30 runs (`RW_DATA_DOCS_RUNS`): older ones
leave the store after every validation (the checks' outcomes stay in Dagster's run history
and the row counts in `quality.row_counts`). A build removes the pages of results no longer
stored, renders only the stored results that have no page yet (this run's, and those of a
run that stopped before publishing) and rebuilds the index; a missing site is built whole.
A build now costs its new results' pages and an index of at most 30 runs (decision 147).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from orchestration import settings

SITE = Path("gx") / "uncommitted" / "data_docs" / "local_site"


@functools.cache
def context(quality_dir: str) -> Any:
    """Return the GX file context under the quality folder (made once per process)."""
    import great_expectations as gx

    gx_context = gx.get_context(mode="file", project_root_dir=quality_dir)
    gx_context.variables.progress_bars = {"globally": False}
    return gx_context


def docs_index(quality_dir: Path) -> Path:
    """Return where the Data Docs site's index page is written."""
    return quality_dir / SITE / "index.html"


def page(quality_dir: Path, key: Any) -> Path:
    """Return where the site renders one validation result (GX mirrors the store's key)."""
    *folders, batch = key.to_tuple()
    return quality_dir / SITE / "validations" / Path(*folders) / f"{batch}.html"


def beyond_retention(keys: list[Any], kept: int) -> list[Any]:
    """Return the results older than each suite's `kept` newest runs."""
    by_suite: dict[str, list[Any]] = {}
    for key in keys:
        by_suite.setdefault(key.expectation_suite_identifier.name, []).append(key)
    stale = []
    for suite_keys in by_suite.values():
        newest_first = sorted(suite_keys, key=lambda k: k.run_id.run_time, reverse=True)
        stale.extend(newest_first[kept:])
    return stale


def prune_results(quality_dir: Path, suite_name: str) -> int:
    """Drop one suite's stored results beyond retention; return how many.

    Called after every validation, so the store stays bounded on every engine (on Spark and
    Postgres no run publishes, and so none builds the site). Their pages stay until the
    next build, which rebuilds the index without them: no link is ever left dead.
    """
    store = context(str(quality_dir)).validation_results_store
    # Only the suite's own folder of the store is listed: this runs after every validation.
    keys = [store.tuple_to_key(path)
            for path in store.store_backend.list_keys(prefix=(suite_name,))]
    stale = beyond_retention(keys, settings.data_docs_runs())
    for key in stale:
        store.remove_key(key)
    return len(stale)


def build_docs(quality_dir: Path) -> Path:
    """Bring the site up to the stored results; return its index page.

    Pages of results no longer stored are removed, results without a page are rendered, and
    the index is rebuilt when either happened. Once per run (the publish step), and right
    away when an error-severity rule fails (the run then stops before publish), so the page
    the runbook sends an operator to is current.
    """
    gx_context = context(str(quality_dir))
    keys = gx_context.validation_results_store.list_keys()
    index = docs_index(quality_dir)
    if not index.exists():
        gx_context.build_data_docs()
        return index
    stored = {page(quality_dir, key) for key in keys}
    orphans = [path for path in (quality_dir / SITE / "validations").rglob("*.html")
               if path not in stored]
    for path in orphans:
        path.unlink()
    unrendered = [key for key in keys if not page(quality_dir, key).exists()]
    if not unrendered and not orphans:
        return index
    # The suites' own pages too (a row-count band changes with every run). GX renders every
    # page when given no identifiers, so an index-only rebuild names every suite's page.
    suites = {key.expectation_suite_identifier.to_tuple(): key.expectation_suite_identifier
              for key in unrendered or keys}
    gx_context.build_data_docs(resource_identifiers=[*unrendered, *suites.values()])
    return index
