"""Loading parsed records into the DuckDB warehouse: raw tables, quarantine and the ledger."""
