"""Extract: from the source systems themselves into the landing folder (Bulk Data, MLLP)."""
