"""The raw layer's contract, written once: each entity spec generates its dbt source table.

The entity spec (orchestration/ingest/entities/) is the one home of a raw table's columns, types,
requiredness and descriptions. The dbt sources YAML is generated from it, keeping only what
is the source's own (its description, schema and freshness); a test fails when the committed
YAML differs from what the specs generate. Regenerate after changing a spec:

    .venv/bin/python -m orchestration.ingest.entities.source_contracts
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.entities.entity_spec import METADATA_COLUMNS, EntitySpec
from orchestration.settings import REPO_ROOT

STAGING = REPO_ROOT / "dbt_project" / "models" / "staging"
METADATA_DESCRIPTIONS = {
    "_source_file": "Landing file the record came from, relative to the landing folder.",
    "_record_number": "Line, HL7 message or CSV line number in that file.",
    "_record_hash": "SHA-256 of the record as delivered.",
    "_loaded_at": "When the extract asset loaded the record (UTC).",
    "_run_id": "The Dagster run that loaded it.",
}


def sources_path(source: str) -> Path:
    """Return the sources YAML of one source system."""
    return STAGING / source / f"_{source}__sources.yml"


def table_contract(spec: EntitySpec) -> dict:
    """Return the dbt source table an entity spec declares."""
    columns = []
    for column in spec.columns:
        entry: dict[str, object] = {"name": column.name}
        if column.description:
            entry["description"] = column.description
        # Required columns are enforced at load (an empty one quarantines the record), so
        # the raw tables need no not_null tests: each would be one more dbt node per run.
        columns.append(entry)
    columns += [{"name": name, "description": METADATA_DESCRIPTIONS[name]}
                for name, _ in METADATA_COLUMNS]
    return {"name": spec.table, "description": spec.description,
            "meta": {"dagster": {"asset_key": ["raw", spec.table]}}, "columns": columns}


def generated_sources(source: str) -> str:
    """Return the sources YAML for one source: its committed header, tables from the specs."""
    document = yaml.safe_load(sources_path(source).read_text())
    header = document["sources"][0]
    header["tables"] = [table_contract(spec) for spec in ENTITIES if spec.source == source]
    return yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)


def main() -> None:
    """Rewrite every source's YAML from the entity specs."""
    for source in sorted({spec.source for spec in ENTITIES}):
        sources_path(source).write_text(generated_sources(source))
        sys.stdout.write(f"wrote {sources_path(source).relative_to(REPO_ROOT)}\n")


if __name__ == "__main__":
    main()
