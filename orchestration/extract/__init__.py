"""Parsers for the four source systems' file formats, each producing text columns per record."""
