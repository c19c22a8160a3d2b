"""The serving stage's resource: where the two copies of the marts are published, and how."""

from __future__ import annotations

import os

import dagster as dg

from orchestration.serve.suppression import DEFAULT_THRESHOLD

SUPPRESS_ENV_VAR = "RW_SUPPRESS_BELOW"


def suppression_threshold() -> int:
    """Return the small-cell threshold: counts from 1 to one below it are suppressed."""
    return int(os.environ.get(SUPPRESS_ENV_VAR) or DEFAULT_THRESHOLD)


class ServingResource(dg.ConfigurableResource):
    """Where the BI copy and the operational copy are published (docs/bi.md)."""

    serving_dir: str
    # The BI copy suppresses counts from 1 to one below this ($RW_SUPPRESS_BELOW, 11).
    suppress_below: int = DEFAULT_THRESHOLD
