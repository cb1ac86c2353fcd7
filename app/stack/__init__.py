"""The embedded stack and the ``bullpen up`` supervisor."""
