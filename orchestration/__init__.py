"""The Referral Warehouse Dagster code location: extract-load assets, checks and schedules."""
