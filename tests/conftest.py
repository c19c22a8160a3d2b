"""Shared fixtures: landing folders built from hand-made files, and a small generated world."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.entities.entity_registry import ENTITIES_BY_TABLE
from orchestration.ingest.loader import LoadReport, load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.warehouse import connect
from source_simulator.rates import DefectRates
from source_simulator.simulation import Simulation
from source_simulator.workflow import StandardsRates

FIXTURES = Path(__file__).parent / "fixtures"
TEST_KEY = "test-key-0123456789abcdef"
# Fixture folder -> where the source delivers it inside a landing folder.
LAYOUT = {"fhir": "ehr/export_20260204", "siu": "scheduling", "crm": "crm/intake_leads",
          "ga4": "web"}


def pytest_configure(config: pytest.Config) -> None:
    """Parse the dbt project once, before any test module imports the code location."""
    from orchestration.transform.dbt_project import prepare

    prepare()


@pytest.fixture
def pseudonymizer() -> Pseudonymizer:
    return Pseudonymizer(TEST_KEY)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """A landing folder holding every hand-made fixture file in its source's folder."""
    root = tmp_path / "landing"
    for fixture, target in LAYOUT.items():
        shutil.copytree(FIXTURES / fixture, root / target)
    for folder in ("ehr", "scheduling", "crm", "web"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "warehouse.duckdb")
    yield con
    con.close()


def load(con: duckdb.DuckDBPyConnection, landing: Path, table: str,
         pseudonymizer: Pseudonymizer) -> LoadReport:
    return load_entity(con, ENTITIES_BY_TABLE[table], landing, pseudonymizer, run_id="test")


def simulate(root: Path, *, clean: bool = False, seed: int = 7,
             plain: bool = False) -> tuple[Path, Path]:
    """Write a small generated world (a quarter scale, four months) under ``root``.

    ``plain`` leaves out the referral standards' shapes (Tasks, FHIR Appointments, UBRNs,
    orders beside referrals): the world the plain benchmark script can read.
    """
    landing, truth = root / "landing", root / "ground_truth.jsonl"
    defects = DefectRates.none() if clean else DefectRates(
        unparseable_record=0.01, duplicate_record=0.01, missing_referral_source=0.03,
        invalid_status=0.02, invalid_npi=0.1, orphan_appointment=0.04)
    Simulation(landing, truth, seed=seed, scale=0.25, end=date(2026, 4, 30), months=4,
               defects=defects,
               standards=StandardsRates.none() if plain else StandardsRates()).run()
    return landing, truth


HANDMADE_LANDING = FIXTURES / "handmade" / "landing"
STANDARDS_LANDING = FIXTURES / "standards" / "landing"
CRM_ENTITIES = ("referring_practices", "referring_providers", "liaison_activities",
                "campaigns", "campaign_spend", "intake_leads")


def run_config(landing: Path, root: Path, demo: bool = True,
               raw_datasets: bool = False) -> dict:
    """Dagster run config that keeps every file a run writes under ``root``.

    ``raw_datasets``: the loads write the Parquet raw datasets, as they do for a warehouse
    whose dbt builds on Spark or Postgres (the engine tests copy them from these worlds).
    """
    return {"resources": {
        "landing": {"config": {"landing_dir": str(landing)}},
        "warehouse": {"config": {"database_path": str(root / "warehouse.duckdb"),
                                 "write_raw_datasets": raw_datasets}},
        "pseudonymization": {"config": {"demo_mode": demo}},
        "quality": {"config": {"quality_dir": str(root / "quality")}},
        "serving": {"config": {"serving_dir": str(root / "serving")}},
    }}


@pytest.fixture(scope="session")
def handmade_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made world through the whole job: warehouse, quality and serving under root."""
    from orchestration.definitions import defs

    root = tmp_path_factory.mktemp("handmade")
    landing = root / "landing"
    shutil.copytree(HANDMADE_LANDING, landing)
    for entity in CRM_ENTITIES:  # git keeps no empty folders
        (landing / "crm" / entity).mkdir(parents=True, exist_ok=True)
    result = defs.resolve_job_def("refresh_warehouse").execute_in_process(
        run_config=run_config(landing, root, raw_datasets=True))
    assert result.success
    return root


@pytest.fixture(scope="session")
def standards_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The referral standards' world (tests/fixtures/standards) through the whole job."""
    from orchestration.definitions import defs

    root = tmp_path_factory.mktemp("standards")
    landing = root / "landing"
    shutil.copytree(STANDARDS_LANDING, landing)
    result = defs.resolve_job_def("refresh_warehouse").execute_in_process(
        run_config=run_config(landing, root, raw_datasets=True))
    assert result.success
    return root


@pytest.fixture(scope="module")
def handmade_marts(handmade_world: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the hand-made world's warehouse, for one test module."""
    con = duckdb.connect(str(handmade_world / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    """All rows of a query."""
    return con.execute(sql).fetchall()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    """One whole-job run over the small generated world (with defects), shared by every
    test that needs a built demo warehouse: (root folder, landing folder, run result)."""
    from orchestration.definitions import defs

    root = tmp_path_factory.mktemp("demo_world")
    landing, _ = simulate(root)
    result = defs.resolve_job_def("refresh_warehouse").execute_in_process(
        run_config=run_config(landing, root))
    return root, landing, result
