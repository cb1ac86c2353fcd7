"""Celery tasks: thin wrappers that take a job id and call the domain code in ``app``."""
