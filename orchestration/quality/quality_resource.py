"""The quality stage's resource: where Great Expectations keeps its results and Data Docs."""

from __future__ import annotations

import dagster as dg


class QualityResource(dg.ConfigurableResource):
    """Where Great Expectations keeps its results and writes the Data Docs site."""

    quality_dir: str
