"""Celery: the application, its queues and routes, the beat schedule and worker signals."""
