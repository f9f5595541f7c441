"""Errors of the ingest steps that reach the knowledge officer (messages in German)."""


class ExtractionError(Exception):
    """The file cannot be indexed; the message is shown to the user (German, no server paths)."""
