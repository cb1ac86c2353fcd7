"""Retrosheet game logs: the format (parse.py), the ingest source (source.py), and the
reconciling of the logs with what the other sources say of the same games (reconcile.py)."""
