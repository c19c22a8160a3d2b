"""One reader per landing-file format, and the one dispatch that picks it."""
