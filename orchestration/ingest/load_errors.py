"""Errors a data engineer can act on: each names the file (and field) that is wrong."""

from __future__ import annotations


class LoadError(Exception):
    """Base class for problems that stop a load; earlier loaded data is left untouched."""


class SourceFileError(LoadError):
    """A landing file cannot be loaded as a whole (missing columns, bad manifest, ...)."""

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


class LandingFolderError(LoadError):
    """The landing folder, or a source's folder inside it, is missing."""


class ConfigurationError(LoadError):
    """A setting is missing or invalid (for example the pseudonymization key)."""
