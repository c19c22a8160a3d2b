"""Which EHR to export from and how to prove who we are: Dagster resource config.

Every value comes from run config or the environment (``RW_FHIR_BULK_*``), never from the
repository; the private key is read from a file when a run needs it and kept in memory only.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import requests

from orchestration.extract.bulk_data_client import BulkDataClient, Waits
from orchestration.extract.smart_backend_auth import (
    SmartBackendAuth,
    TokenError,
    discover_token_url,
    read_scopes,
)

ENV_PREFIX = "RW_FHIR_BULK_"


class FhirBulkDataResource(dg.ConfigurableResource):
    """One EHR's Bulk Data endpoint and this warehouse's SMART backend client registration."""

    base_url: str = ""
    group_id: str = ""
    client_id: str = ""
    private_key_file: str = ""
    key_id: str = ""
    algorithm: str = "RS384"
    token_url: str = ""
    scope_style: str = "v2"
    # Set by the code location to the types the warehouse loads (orchestration/resources.py).
    resource_types: list[str] = []  # noqa: RUF012 (pydantic copies field defaults)
    request_timeout_seconds: float = 60.0
    default_wait_seconds: float = 5.0
    export_timeout_seconds: float = 6 * 3600.0

    @classmethod
    def from_environment(cls, resource_types: list[str]) -> FhirBulkDataResource:
        """Read ``RW_FHIR_BULK_<SETTING>`` for every setting; ask only for ``resource_types``."""
        names = ("base_url", "group_id", "client_id", "private_key_file", "key_id",
                 "algorithm", "token_url", "scope_style")
        found = {name: os.environ[ENV_PREFIX + name.upper()] for name in names
                 if os.environ.get(ENV_PREFIX + name.upper())}
        return cls(resource_types=resource_types, **found)

    @property
    def is_configured(self) -> bool:
        """Whether an EHR is set up at all (a demo warehouse has none)."""
        return bool(self.base_url)

    def missing_settings(self) -> list[str]:
        """Return the environment variables a Bulk Data export still needs."""
        needed = {"base_url": self.base_url, "client_id": self.client_id,
                  "private_key_file": self.private_key_file}
        return [ENV_PREFIX + name.upper() for name, value in needed.items() if not value]

    def client(self, log: dg.DagsterLogManager | None = None) -> BulkDataClient:
        """Return a client with a fresh session and the key read from its file."""
        missing = self.missing_settings()
        if missing:
            raise TokenError("the Bulk Data export is not configured: set "
                             + ", ".join(missing))
        key_path = Path(self.private_key_file)
        try:
            key = key_path.read_bytes()
        except OSError as error:
            raise TokenError(f"the private key file {key_path} cannot be read "
                             f"({error.strerror})") from None
        session = requests.Session()
        token_url = self.token_url or discover_token_url(session, self.base_url,
                                                          self.request_timeout_seconds)
        auth = SmartBackendAuth(session, token_url, self.client_id, key,
                                read_scopes(self.resource_types, self.scope_style),
                                self.algorithm, self.key_id or None,
                                self.request_timeout_seconds)
        waits = Waits(default_seconds=self.default_wait_seconds,
                      export_timeout_seconds=self.export_timeout_seconds)
        return BulkDataClient(session, auth, self.base_url, waits=waits,
                              timeout=self.request_timeout_seconds,
                              log=log.info if log else (lambda message: None))
