"""Quality: the Great Expectations suites as blocking asset checks on the tables they guard."""

from __future__ import annotations

import dagster as dg

from orchestration import settings
from orchestration.quality.suite_checks import suite_checks


def defs() -> dg.Definitions:
    """Return one asset check per suite that the engine's deployment validates."""
    return dg.Definitions(asset_checks=suite_checks(settings.dbt_target()))
