"""Declarative descriptions of what each source entity loads into the raw schema.

An `EntitySpec` names the raw table, where its files live, how they are parsed, and the
columns kept. A column is declared by the expression that pulls its text out of a record,
the SQL type it must cast to, whether it is required, and, for an identifier of a patient or
a site visitor, which kind of identifier it is, so that it is stored only as that kind's keyed
hash (orchestration/ingest/pseudonymize.py). Direct identifiers that are not needed (names,
MRNs, phones, street addresses, full birth dates) are simply never declared, so they never
reach the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestration.ingest.pseudonymize import IDENTIFIER_TYPES

# What every raw table holds beside its declared columns: where each row came from, when and
# by which run it was loaded (orchestration/ingest/warehouse.py makes the tables).
METADATA_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_record_number", "BIGINT"),
    ("_record_hash", "VARCHAR"),
    ("_loaded_at", "TIMESTAMPTZ"),
    ("_run_id", "VARCHAR"),
)


@dataclass(frozen=True)
class FileFormat:
    """A landing-file format: its name, how its files are found, and its Dagster kind.

    Which reader parses a format is decided in one place, the format dispatch
    (orchestration/ingest/readers/formats.py).
    """

    name: str
    asset_kind: str
    # FHIR Bulk Data exports list their files in a manifest; other formats are found by name.
    listed_in_manifests: bool = False


FHIR_NDJSON = FileFormat("fhir_ndjson", "fhir", listed_in_manifests=True)
HL7_SIU = FileFormat("hl7_siu", "hl7")
CRM_CSV = FileFormat("crm_csv", "csv")
GA4_NDJSON = FileFormat("ga4_ndjson", "json")


@dataclass(frozen=True)
class Column:
    """One raw-table column: its name, text expression, SQL type and handling."""

    name: str
    expression: str
    sql_type: str = "VARCHAR"
    required: bool = False
    # The kind of identifier (pseudonymize.IDENTIFIER_TYPES) this column holds: stored only as
    # its keyed hash. Empty: not an identifier, stored as it is.
    pseudonymize: str = ""
    description: str = ""
    # JSON sources: the path the column reads and the JSON type it must have when present
    # (a feed that changes a field's type is quarantined, never loaded as silent NULLs).
    json_path: str | None = None
    json_type: str | None = None
    # A number's bounds (inclusive), when its type allows values no reader can use: GA4's
    # event_timestamp is a BIGINT of microseconds, and one near its limits is no time any
    # engine represents (converting it raised, and failed the run). Outside: invalid_value.
    value_range: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.pseudonymize and self.pseudonymize not in IDENTIFIER_TYPES:
            raise ValueError(f"column {self.name}: pseudonymize names a kind of identifier "
                             f"({', '.join(IDENTIFIER_TYPES)}), not {self.pseudonymize!r}")


# What a load does with a record that does not fit its entity's contract, in dlt's words
# (`schema_contract`). `evolve` is not offered: a raw table holds only declared columns, and
# an undeclared field may be a direct identifier (a name, a phone), so none is ever loaded.
DRIFT_ACTIONS = ("freeze", "discard_row", "discard_value")
DRIFT_REASONS = {"columns": "unexpected_column", "data_type": "unexpected_type"}


@dataclass(frozen=True)
class DriftPolicy:
    """What schema drift costs, per kind of drift; every load traces each drift it meets.

    ``columns``: a field the contract does not declare (a CSV export's new column).
    ``data_type``: a declared field with another type than the contract's (a JSON string
    where a number was declared). The actions: ``freeze`` rejects the whole file, so nothing
    of it is loaded until the contract says what the change means; ``discard_row``
    quarantines the record (reason `unexpected_column` or `unexpected_type`); and
    ``discard_value`` loads the record without the field (a new column is not kept, a value
    of the wrong type is NULL). The trace is `raw._schema_drift` (orchestration/ingest/
    warehouse.py): one row per file, kind and detail, with the record count and the action.
    """

    columns: str = "discard_row"
    data_type: str = "discard_row"

    def __post_init__(self) -> None:
        """Refuse an action the loader does not know, naming the ones it does."""
        for kind in DRIFT_REASONS:
            action = getattr(self, kind)
            if action not in DRIFT_ACTIONS:
                raise ValueError(f"drift policy {kind}={action!r}: choose one of "
                                 f"{', '.join(DRIFT_ACTIONS)} (undeclared fields are never "
                                 "loaded, so there is no 'evolve')")

    def action(self, kind: str) -> str:
        """Return the action for a kind of drift (`columns` or `data_type`)."""
        return getattr(self, kind)


@dataclass(frozen=True)
class EntitySpec:
    """One source entity: one Dagster asset, one raw table."""

    source: str
    name: str
    description: str
    columns: tuple[Column, ...]
    file_format: FileFormat
    folder: str
    pattern: str
    drift: DriftPolicy
    resource_type: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        """Return the raw table name, `<source>_<entity>`."""
        return f"{self.source}_{self.name}"

    @property
    def column_names(self) -> list[str]:
        """Return the declared column names in order."""
        return [c.name for c in self.columns]
