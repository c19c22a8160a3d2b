"""HIPAA Safe Harbor's generalizations at extraction: ages over 89 and the restricted ZIP3s.

Each source's reader folds a birth year that could show an age over 89 into one "90 or
older" category and replaces the 3-digit ZIP of a restricted area (seeds/restricted_zip3.csv)
by 000 (docs/privacy.md). The hand-made world (tests/fixtures/handmade/README.md) carries a
patient born in 1934 and one in ZIP 03601; neither value may reach any table.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.entities.safe_harbor import restricted_zip3
from orchestration.settings import SEEDS_DIR
from tests.conftest import load

OLD = date.today().year - 92   # 92 at the load date
NINETY = date.today().year - 90  # possibly 90: folded too
EIGHTY_NINE = date.today().year - 89  # at most 89: kept


def _rewrite(path: Path, old: str, new: str) -> None:
    content = path.read_bytes()
    assert old.encode() in content, f"{old} not in {path.name}"
    path.write_bytes(content.replace(old.encode(), new.encode()))


def test_the_seed_lists_the_seventeen_restricted_areas() -> None:
    with (SEEDS_DIR / "restricted_zip3.csv").open(newline="") as handle:
        areas = [row["zip3"] for row in csv.DictReader(handle)]
    assert len(areas) == len(set(areas)) == 17 and restricted_zip3() == tuple(sorted(areas))
    assert all(len(area) == 3 and area.isdigit() for area in areas)


@pytest.mark.parametrize(("table", "file", "birth", "zip_code", "columns"), [
    ("ehr_patient", "ehr/export_20260204/Patient.ndjson", ("1974-12-25", "1961-03-14"),
     ('"postalCode":"3999"', '"postalCode":"43215"'),
     "birth_year, is_aged_90_or_older, postal_code_3"),
    ("scheduling_siu_messages", "scheduling/siu_20260105.hl7", ("19741225",),
     ("^3999",), "patient_birth_year, patient_is_aged_90_or_older, patient_postal_code_3"),
    ("crm_intake_leads", "crm/intake_leads/intake_leads_202601.csv",
     ("1961-03-14", "1950-07-01"), (",43215,", ",43017,"),
     "birth_year, is_aged_90_or_older, postal_code_3"),
])
def test_each_reader_folds_the_oldest_and_the_restricted_areas(
        warehouse, landing, pseudonymizer, table, file, birth, zip_code, columns) -> None:
    path = landing / file
    # The first record's patient: 92 years old, in ZIP 036xx; the second: possibly 90.
    years = {"ehr_patient": (f"{OLD}-05-01", f"{NINETY}-12-31"),
             "scheduling_siu_messages": (f"{OLD}0501",),
             "crm_intake_leads": (f"{OLD}-05-01", f"{EIGHTY_NINE}-01-01")}[table]
    zips = {"ehr_patient": ('"postalCode":"03601"', '"postalCode":"03602"'),
            "scheduling_siu_messages": ("^03601",),
            "crm_intake_leads": (",03601,", ",43017,")}[table]
    for old, new in zip(birth + zip_code, years + zips, strict=True):
        _rewrite(path, old, new)
    load(warehouse, landing, table, pseudonymizer)
    rows = set(warehouse.execute(f"select distinct {columns} from raw.{table}").fetchall())
    if table == "ehr_patient":
        assert rows == {(None, True, "000")}
    elif table == "scheduling_siu_messages":
        # Some messages carry no PID-7 or no address: nothing to fold there, nothing kept.
        assert (None, True, "000") in rows and all(r[0] is None for r in rows)
    else:
        assert rows == {(None, True, "000"), (EIGHTY_NINE, False, "430")}


def test_no_table_of_the_handmade_world_holds_the_oldest_year_or_a_restricted_zip3(
        handmade_world: Path) -> None:
    restricted = set(restricted_zip3())
    for database in (handmade_world / "warehouse.duckdb",
                     *sorted((handmade_world / "serving" / "current").glob("*.duckdb"))):
        with duckdb.connect(str(database), read_only=True) as con:
            columns = con.execute("""select table_schema, table_name, column_name, data_type
                from information_schema.columns
                where data_type in ('INTEGER', 'BIGINT', 'VARCHAR')
                    and table_name <> 'restricted_zip3'  -- the code list itself""").fetchall()
            for schema, table, column, data_type in columns:
                name = f'"{schema}"."{table}"."{column}"'
                if data_type == "VARCHAR":
                    hits = con.execute(f'select count(*) from "{schema}"."{table}" where '
                                       f'"{column}" in ({", ".join("?" * len(restricted))})',
                                       sorted(restricted)).fetchone()[0]
                    assert hits == 0, f"{name} holds a restricted ZIP3"
                elif "year" in column:
                    hits = con.execute(f'select count(*) from "{schema}"."{table}" '
                                       f'where "{column}" = 1934').fetchone()[0]
                    assert hits == 0, f"{name} holds the birth year 1934"
    with duckdb.connect(str(handmade_world / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("""select birth_year, is_aged_90_or_older, postal_code_3
            from staging.stg_ehr__patients order by postal_code_3""").fetchall() == [
            (1971, False, "000"), (None, True, "432")]
