"""The landing folder: where extraction writes and the loader reads, one resource for both."""

from __future__ import annotations

import dagster as dg


class LandingResource(dg.ConfigurableResource):
    """The folder the four source systems deliver their files to."""

    landing_dir: str
