"""Ingest: landing files to raw tables: entity specs, readers, landing, loader, pseudonyms."""
