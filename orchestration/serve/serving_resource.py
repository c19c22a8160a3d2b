"""The serving stage's resource: where the read-only copy of the marts is published."""

from __future__ import annotations

import dagster as dg


class ServingResource(dg.ConfigurableResource):
    """Where the read-only copy of the marts for BI tools is published."""

    serving_dir: str
