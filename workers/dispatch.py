"""Hand committed jobs to Celery by name, so that senders need not import the tasks."""

import uuid

from celery import Celery

from app.jobs.service import Sender

# Job kind -> the task that runs it (routed to its queue by workers.celery_app.TASK_ROUTES).
TASK_FOR_KIND = {
    "predict": "tasks.predict.run_prediction_job",
    "features_refresh": "tasks.features.run_refresh_job",
    "ingest": "tasks.ingest.run_ingest_job",
    "train": "tasks.training.run_training_job",
}


def celery_sender(celery: Celery) -> Sender:
    """A :data:`Sender` that publishes the job's task with the job id as its only argument."""

    def send(job_id: uuid.UUID, kind: str) -> None:
        celery.send_task(TASK_FOR_KIND[kind], args=[str(job_id)])

    return send
