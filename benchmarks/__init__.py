"""Benchmarks: figures printed for docs/benchmarks.md, never asserted by tests."""
