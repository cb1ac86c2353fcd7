"""Retrosheet game logs: the format (parse.py) and the ingest source (source.py)."""
