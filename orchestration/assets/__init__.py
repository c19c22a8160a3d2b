"""Dagster assets of the code location."""
