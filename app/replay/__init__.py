"""``bullpen replay``: a past season day by day through the running system (see run.py)."""
