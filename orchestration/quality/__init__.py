"""Data quality: Great Expectations suites from `expectations/`, run as Dagster asset checks."""
