"""Extract: the EHR's Bulk Data export as an asset (the MLLP receiver is a service, see cli)."""

from __future__ import annotations

import dagster as dg

from orchestration.extract.bulk_export_asset import fhir_bulk_export


def defs() -> dg.Definitions:
    """Return the assets that pull from the source systems into the landing folder."""
    return dg.Definitions(assets=[fhir_bulk_export])
