"""Jobs: poll (optionally long-poll), page through results, cancel."""

import json
import uuid
from collections.abc import Sequence

import marshmallow as ma
from flask import Response, url_for
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import func, select

from app.api.bounds import MAX_RESULTS_PAGE_SIZE, Blueprint, PageSchema
from app.api.context import services
from app.db.session import session_scope
from app.jobs.models import FINISHED_STATUSES, JOB_STATUSES, Job
from app.jobs.service import JobNotFound, ShownJob, cancel, read_job
from app.kinds import KINDS
from app.predictions.results import read_page

URL_PREFIX = "/jobs"
MAX_WAIT_SECONDS = 30

blp = Blueprint("jobs", __name__, description="Poll, page through and cancel jobs")


class ProgressSchema(ma.Schema):
    done = ma.fields.Integer()
    total = ma.fields.Integer()


class JobSchema(ma.Schema):
    job_id = ma.fields.UUID()
    kind = ma.fields.String()
    status = ma.fields.String(
        metadata={"enum": ["queued", "running", "succeeded", "failed", "cancelled"]}
    )
    progress = ma.fields.Nested(ProgressSchema)
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    error = ma.fields.String(allow_none=True)
    result = ma.fields.Dict(allow_none=True)
    results_url = ma.fields.String()


class WaitSchema(ma.Schema):
    wait = ma.fields.Float(
        load_default=0,
        validate=ma.validate.Range(min=0, max=MAX_WAIT_SECONDS),
        metadata={"description": "Seconds to wait for the job to end (long poll)"},
    )


class ResultsPageSchema(ma.Schema):
    job_id = ma.fields.UUID()
    status = ma.fields.String()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()
    total = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Dict())


class ResultsQuerySchema(PageSchema):
    """A results page may be as large as a whole 10,000-game batch."""

    page_size = ma.fields.Integer(
        load_default=100, validate=ma.validate.Range(min=1, max=MAX_RESULTS_PAGE_SIZE)
    )


class JobsQuerySchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(JOB_STATUSES))
    kind = ma.fields.String(validate=ma.validate.OneOf(list(KINDS)))


def job_body(job: ShownJob) -> dict:
    """The JSON shape of a job, as every endpoint that returns one shows it."""
    return {
        "job_id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "result": job.result,
        "results_url": url_for("jobs.JobResults", job_id=job.id),
    }


def job_location(job: ShownJob) -> dict[str, str]:
    """The ``Location`` header of a 202 answer."""
    return {"Location": url_for("jobs.JobById", job_id=job.id)}


def load_job(job_id: uuid.UUID) -> ShownJob:
    job = read_job(services().database_url, job_id)
    if job is None:
        abort(404, message=f"no job {job_id}")
    return job


@blp.route("")
class Jobs(MethodView):
    @blp.arguments(JobsQuerySchema, location="query")
    @blp.response(200, JobSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, args: dict, pagination_parameters):
        """Jobs for operators, newest first, filtered by status and kind (``X-Pagination``)."""
        query = select(Job)
        if "status" in args:
            query = query.where(Job.status == args["status"])
        if "kind" in args:
            query = query.where(Job.kind == args["kind"])
        page, size = pagination_parameters.page, pagination_parameters.page_size
        with session_scope(services().database_url) as session:
            pagination_parameters.item_count = session.scalar(
                select(func.count()).select_from(query.subquery())
            )
            jobs = session.scalars(
                query.order_by(Job.created_at.desc(), Job.id).offset((page - 1) * size).limit(size)
            ).all()
            return [job_body(job) for job in jobs]


@blp.route("/<uuid:job_id>")
class JobById(MethodView):
    @blp.arguments(WaitSchema, location="query")
    @blp.response(200, JobSchema)
    @blp.alt_response(404, description="No such job")
    def get(self, args: dict, job_id: uuid.UUID):
        """A job's status and progress; ``?wait=S`` waits up to S seconds for it to end."""
        if args["wait"] <= 0:
            return job_body(load_job(job_id))
        job = services().job_events.wait_until(
            job_id,
            lambda: load_job(job_id),
            lambda job: job.status in FINISHED_STATUSES,
            args["wait"],
        )
        return job_body(job)

    @blp.response(200, JobSchema)
    @blp.alt_response(404, description="No such job")
    def delete(self, job_id: uuid.UUID):
        """Cancel a job that has not finished (a finished job is left as it is)."""
        svc = services()
        try:
            job = cancel(svc.database_url, job_id, svc.queue)
        except JobNotFound:
            abort(404, message=f"no job {job_id}")
        return job_body(job)


@blp.route("/<uuid:job_id>/results")
class JobResults(MethodView):
    @blp.arguments(ResultsQuerySchema, location="query")
    @blp.response(200, ResultsPageSchema)
    @blp.alt_response(404, description="No such job")
    def get(self, args: dict, job_id: uuid.UUID):
        """The job's predictions, in request order, a page at a time."""
        page, size = args["page"], args["page_size"]
        found = read_page(services().database_url, job_id, (page - 1) * size, size)
        if found is None:
            abort(404, message=f"no job {job_id}")
        status, total, items = found
        return results_page_response(job_id, status, page, size, total, items)


def results_page_response(
    job_id: uuid.UUID, status: str, page: int, size: int, total: int, items: Sequence[str]
) -> Response:
    """A :class:`ResultsPageSchema` body around ``items``, the page's objects as JSON text."""
    head = json.dumps(
        {"job_id": str(job_id), "status": status, "page": page, "page_size": size, "total": total}
    )
    return Response(f'{head[:-1]}, "items": [{",".join(items)}]}}', mimetype="application/json")
