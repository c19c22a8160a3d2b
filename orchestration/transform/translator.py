"""Maps dbt nodes to Dagster asset keys and groups from their folder path."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator


class ReferralWarehouseTranslator(DagsterDbtTranslator):
    """Models keyed by layer and name (`staging/stg_...`), grouped by layer and domain."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        """Return ["<layer>", "<name>"] for models, seeds and snapshots; sources keep meta keys."""
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "source":
            return super().get_asset_key(dbt_resource_props)
        if resource_type == "seed":
            return dg.AssetKey(["reference", dbt_resource_props["name"]])
        if resource_type == "snapshot":
            return dg.AssetKey(["snapshots", dbt_resource_props["name"]])
        layer = dbt_resource_props["fqn"][1]
        return dg.AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Return the group from the folder path: `staging_ehr`, `marts_referrals`, ..."""
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "seed":
            return "reference"
        if resource_type == "snapshot":
            return "snapshots"
        fqn = dbt_resource_props["fqn"]
        return "_".join(fqn[1:-1]) if len(fqn) > 2 else fqn[1]
