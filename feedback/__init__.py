"""Closing the loop: staff feedback on answers, the query log, the knowledge officer's queue."""
