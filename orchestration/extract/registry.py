"""Every source entity the pipeline loads, in one place."""

from __future__ import annotations

from orchestration.extract.crm import CRM_ENTITIES
from orchestration.extract.fhir import FHIR_ENTITIES
from orchestration.extract.ga4 import GA4_ENTITY
from orchestration.extract.siu import SIU_ENTITY
from orchestration.extract.spec import EntitySpec

ENTITIES: tuple[EntitySpec, ...] = (*FHIR_ENTITIES, SIU_ENTITY, *CRM_ENTITIES, GA4_ENTITY)
ENTITIES_BY_TABLE: dict[str, EntitySpec] = {spec.table: spec for spec in ENTITIES}
