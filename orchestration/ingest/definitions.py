"""Ingest: one asset per source entity, landing files to `raw.<table>`, with its load checks."""

from __future__ import annotations

import dagster as dg

from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.extract_assets import build_extract_assets


def defs() -> dg.Definitions:
    """Return the extract-load assets, one per entity of every source, loaded in one step."""
    return dg.Definitions(assets=[build_extract_assets(ENTITIES)])
