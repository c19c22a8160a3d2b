"""The quality stage's resource: where Great Expectations keeps its results and Data Docs."""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading

import dagster as dg


class QualityResource(dg.ConfigurableResource):
    """Where Great Expectations keeps its results and writes the Data Docs site."""

    quality_dir: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Start importing Great Expectations when a run that validates starts.

        GX takes about 2 s to import, and a run's first suite comes after its loads, which
        spend most of their time in DuckDB with the interpreter lock released. Imported in a
        thread meanwhile, GX is ready when the first suite runs; at scale 10 the suites
        started 2 s after the loads ended, now at once. A suite that comes first waits for
        the same import (Python's import lock), and a failed import raises there.
        """
        if "great_expectations" not in sys.modules:
            threading.Thread(target=_import_great_expectations, daemon=True,
                             name="import-great-expectations").start()


def _import_great_expectations() -> None:
    # A failure is the first suite's to report: its own import raises it again, in the step.
    with contextlib.suppress(Exception):
        importlib.import_module("great_expectations")
