"""Serve: the read-only serving copy of the marts, and the asset that publishes it."""
