"""Dagster resources: the warehouse file, the landing folder and the pseudonymization key."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from orchestration import settings
from orchestration.dbt_project import dbt_cli
from orchestration.load.pseudonymize import DEMO_ENV_VAR, Pseudonymizer, resolve_key
from orchestration.load.warehouse import connect


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. One writer at a time: see the pool on the assets."""

    database_path: str

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a read-write connection that is closed afterwards."""
        con = connect(self.database_path)
        try:
            yield con
        finally:
            con.close()


class QualityResource(dg.ConfigurableResource):
    """Where Great Expectations keeps its results and writes the Data Docs site."""

    quality_dir: str


class ServingResource(dg.ConfigurableResource):
    """Where the read-only copy of the marts for BI tools is published."""

    serving_dir: str


class LandingResource(dg.ConfigurableResource):
    """The folder the four source systems deliver their files to."""

    landing_dir: str


class PseudonymizationResource(dg.ConfigurableResource):
    """The keyed hash for patient identifiers; the key itself only ever comes from the env."""

    demo_mode: bool = False

    def pseudonymizer(self, log: dg.DagsterLogManager | None = None) -> Pseudonymizer:
        """Return the pseudonymizer, or raise a ConfigurationError when no key is set."""
        environ = dict(os.environ)
        if self.demo_mode:
            environ[DEMO_ENV_VAR] = "1"
        key, is_demo = resolve_key(environ)
        if is_demo and log is not None:
            log.warning("Pseudonymizing with the DEMO key: fine for generated data, never for "
                        "real patients. Set RW_PSEUDONYMIZATION_KEY for real data.")
        return Pseudonymizer(key)


def default_resources() -> dict[str, dg.ConfigurableResource]:
    """Return the resources configured from the environment."""
    demo = os.environ.get(DEMO_ENV_VAR, "").lower() in {"1", "true", "yes"}
    return {
        "warehouse": WarehouseResource(database_path=settings.warehouse_path()),
        "landing": LandingResource(landing_dir=settings.landing_dir()),
        "quality": QualityResource(quality_dir=settings.quality_dir()),
        "serving": ServingResource(serving_dir=settings.serving_dir()),
        "pseudonymization": PseudonymizationResource(demo_mode=demo),
        "dbt": dbt_cli(),
    }
