"""The resources every stage's assets ask for, configured from the environment.

Each resource is defined by the stage that owns it; this module only assembles them.
"""

from __future__ import annotations

import os

import dagster as dg

from orchestration import settings
from orchestration.extract.bulk_data_resource import FhirBulkDataResource
from orchestration.extract.landing_resource import LandingResource
from orchestration.ingest.entities.fhir_entities import FHIR_ENTITIES
from orchestration.ingest.ingest_resources import PseudonymizationResource, WarehouseResource
from orchestration.ingest.pseudonymize import DEMO_ENV_VAR
from orchestration.quality.quality_resource import QualityResource
from orchestration.serve.serving_resource import ServingResource, suppression_threshold
from orchestration.transform.dbt_project import dbt_cli


def default_resources() -> dict[str, dg.ConfigurableResource]:
    """Return the resources configured from the environment."""
    demo = os.environ.get(DEMO_ENV_VAR, "").lower() in {"1", "true", "yes"}
    return {
        "warehouse": WarehouseResource(database_path=settings.warehouse_path(),
                                       write_raw_datasets=settings.raw_datasets_wanted()),
        "landing": LandingResource(landing_dir=settings.landing_dir()),
        "quality": QualityResource(quality_dir=settings.quality_dir()),
        "serving": ServingResource(serving_dir=settings.serving_dir(),
                                   suppress_below=suppression_threshold()),
        "pseudonymization": PseudonymizationResource(demo_mode=demo),
        "dbt": dbt_cli(),
        # Ask the EHR only for the resource types the warehouse loads.
        "fhir_bulk": FhirBulkDataResource.from_environment(
            sorted({entity.resource_type for entity in FHIR_ENTITIES})),
    }
