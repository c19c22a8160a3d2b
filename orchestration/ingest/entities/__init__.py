"""What each source entity loads: its columns, format, identifiers and drift policy."""
