"""Every source entity the pipeline loads, in one place."""

from __future__ import annotations

from orchestration.ingest.entities.crm_entities import CRM_ENTITIES
from orchestration.ingest.entities.entity_spec import EntitySpec
from orchestration.ingest.entities.fhir_entities import FHIR_ENTITIES
from orchestration.ingest.entities.ga4_entities import GA4_ENTITY
from orchestration.ingest.entities.siu_entities import SIU_ENTITY

ENTITIES: tuple[EntitySpec, ...] = (*FHIR_ENTITIES, SIU_ENTITY, *CRM_ENTITIES, GA4_ENTITY)
ENTITIES_BY_TABLE: dict[str, EntitySpec] = {spec.table: spec for spec in ENTITIES}
