"""Curated games and their market odds: what features, models and the API read."""
