"""Data Docs keep each suite's last runs and render only what has no page yet (decision 147).

Real GX on a real quality folder: a one-rule suite validated run after run, with the
retention set to two runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pytest

from orchestration import settings
from orchestration.quality import data_docs
from orchestration.quality.data_docs import build_docs, docs_index, page
from orchestration.quality.suites import SuiteSpec
from orchestration.quality.validate import validate_suite


def _suite(path: Path) -> SuiteSpec:
    return SuiteSpec(
        name="spend", asset_key=("raw", "spend"), description="", path=path,
        batch_sql="select record_id, spend from spend order by record_id",
        expectations=({"type": "expect_column_values_to_be_between",
                       "kwargs": {"column": "spend", "min_value": 0},
                       "meta": {"rule": "negative", "severity": "warn"}},))


def _stored(quality: Path) -> list:
    keys = data_docs.context(str(quality)).validation_results_store.list_keys()
    return sorted(keys, key=lambda key: key.run_id.run_time)


def _linked_pages(quality: Path) -> set[Path]:
    site = docs_index(quality).parent
    links = re.findall(r'validations/[^"\']+?\.html', docs_index(quality).read_text())
    return {site / unquote(link) for link in links}


def _pages(quality: Path) -> set[Path]:
    return set((docs_index(quality).parent / "validations").rglob("*.html"))


@pytest.fixture
def validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Validate the suite once per call, as one run would."""
    monkeypatch.setenv(settings.DATA_DOCS_RUNS_ENV_VAR, "2")
    con = duckdb.connect()
    con.execute("create table spend as select 'spend.csv:' || i as record_id, "
                "cast(i - 2 as double) as spend from range(1, 6) r(i)")
    quality = tmp_path / "quality"
    runs = iter(range(1, 100))
    yield quality, lambda: validate_suite(con, _suite(tmp_path), quality, f"r{next(runs)}")
    data_docs.context.cache_clear()


def test_the_site_keeps_the_last_runs_and_links_only_pages_that_exist(validate) -> None:
    quality, run = validate
    for runs in range(1, 5):
        run()
        index = build_docs(quality)
        stored = _stored(quality)
        assert [key.run_id.run_name for key in stored] == [f"r{n}" for n in range(1, runs + 1)][-2:]
        assert _pages(quality) == {page(quality, key) for key in stored}
        assert _linked_pages(quality) == _pages(quality)
        assert index.exists()


def test_a_build_renders_only_results_without_a_page(validate) -> None:
    quality, run = validate
    run()
    build_docs(quality)
    first = page(quality, _stored(quality)[0])
    written = first.stat().st_mtime_ns
    index_written = docs_index(quality).stat().st_mtime_ns
    build_docs(quality)  # nothing new: nothing is written
    assert docs_index(quality).stat().st_mtime_ns == index_written
    run()
    build_docs(quality)
    assert first.stat().st_mtime_ns == written  # the earlier page was not rendered again
    assert page(quality, _stored(quality)[-1]).exists()
    assert len(_linked_pages(quality)) == 2


def test_results_of_a_run_that_never_published_get_their_page_later(validate) -> None:
    quality, run = validate
    run()
    build_docs(quality)
    run()  # this run stops before its publish step: no build
    run()
    assert len(_pages(quality)) == 1  # the first run's page, kept until the index moves on
    build_docs(quality)
    stored = _stored(quality)
    assert len(stored) == 2
    assert _pages(quality) == _linked_pages(quality) == {page(quality, key) for key in stored}


@pytest.mark.parametrize("value", ["0", "-3", "thirty", "2.5"])
def test_a_retention_that_is_not_a_count_of_runs_is_refused(value: str,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv(settings.DATA_DOCS_RUNS_ENV_VAR, value)
    with pytest.raises(ValueError, match="RW_DATA_DOCS_RUNS must be a whole number"):
        settings.data_docs_runs()
