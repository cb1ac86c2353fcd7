"""Ingest uploaded files: multipart upload -> files kept under var/uploads -> 202 + job."""

import uuid
from pathlib import Path

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import abort
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from app.api.auth import requires
from app.api.bounds import Blueprint
from app.api.context import services
from app.api.jobs import JobSchema, job_body, job_location
from app.ingest.lines import LinesFormatError, pair_paths
from app.ingest.sbro.layout import SbroFormatError, season_from_file_name
from app.jobs.service import submit
from app.kinds import INGEST

URL_PREFIX = "/ingest"
# Override per app with ``app.config["BULLPEN_MAX_UPLOAD_BYTES"]``.
DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
EXTENSIONS = {
    "sbro": (".xlsx",),
    "retrosheet": (".txt", ".txt.gz"),
    "lines": (".csv", ".csv.gz"),
    "splits": (".csv",),
}

blp = Blueprint("ingest", __name__, description="Upload source files and ingest them as a job")


def max_upload_bytes() -> int:
    return int(current_app.config.get("BULLPEN_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


@blp.before_request
def limit_upload_size() -> None:
    """413 before the body is read when it is declared too large; a streamed body is cut
    off at the same size by Werkzeug."""
    limit = max_upload_bytes()
    if request.content_length is not None and request.content_length > limit:
        abort(413, message=f"the upload is larger than {limit} bytes")
    request.max_content_length = limit


def _validate(source: str | None, uploads: list[FileStorage]) -> list[str]:
    """Safe file names of the upload; 422 with field errors when something is wrong."""
    errors: dict[str, list[str]] = {}
    if source not in EXTENSIONS:
        errors["source"] = [f"must be one of {sorted(EXTENSIONS)}"]
    uploads = [upload for upload in uploads if upload.filename]
    if not uploads:
        errors["files"] = ["upload at least one file in the 'files' field"]
    names = [secure_filename(upload.filename or "") for upload in uploads]
    if source in EXTENSIONS:
        wrong = [n for n in names if not n.lower().endswith(EXTENSIONS[source])]
        if wrong:
            errors.setdefault("files", []).append(
                f"{source} files end in {' or '.join(EXTENSIONS[source])}: {wrong}"
            )
        if source == "sbro" and not wrong:
            for name in names:
                try:
                    season_from_file_name(name)
                except SbroFormatError as error:
                    errors.setdefault("files", []).append(str(error))
    if len(set(names)) != len(names):
        errors.setdefault("files", []).append("two files have the same name")
    if errors:
        _unprocessable(errors)
    return names


def _unprocessable(errors: dict[str, list[str]]) -> None:
    # Nested under the request location, as webargs reports it; the API's error handler
    # lifts the location off, so that clients see {"source": [...], "files": [...]}.
    abort(422, message="the upload cannot be ingested", errors={"files": errors})


@blp.route("")
class Ingest(MethodView):
    @requires("admin")
    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["source", "files"],
                        "properties": {
                            "source": {"type": "string", "enum": sorted(EXTENSIONS)},
                            "force": {
                                "type": "boolean",
                                "description": "ingest again a file that is already current",
                            },
                            "files": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                            },
                        },
                    }
                }
            },
        }
    )
    @blp.response(202, JobSchema)
    @blp.alt_response(413, description="Upload too large")
    @blp.alt_response(422, description="Unknown source, wrong file type or no file")
    def post(self):
        """Ingest uploaded files of one source (sbro, retrosheet, lines or splits) as a job.

        Line histories need both files of a pair (NAME_games.csv and NAME_lines.csv[.gz]).
        The job's result lists each file's counts: raw rows, games curated, quarantined by rule.
        """
        source = request.form.get("source")
        uploads = request.files.getlist("files")
        names = _validate(source, uploads)
        svc = services()
        folder = Path(svc.settings.var_dir) / "uploads" / uuid.uuid4().hex
        folder.mkdir(parents=True)
        paths = []
        for upload, name in zip([u for u in uploads if u.filename], names, strict=True):
            path = folder / name
            upload.save(path)
            if path.stat().st_size == 0:
                _unprocessable({"files": [f"{name} is empty"]})
            paths.append(path)
        if source == "lines":
            try:
                pair_paths(paths)
            except LinesFormatError as error:
                _unprocessable({"files": [str(error)]})
        force = (request.form.get("force") or "").strip().lower() in ("1", "true", "yes", "on")
        params = {"source": source, "paths": [str(path) for path in paths], "force": force}
        job = submit(svc.database_url, INGEST, params, svc.queue, total=len(paths))
        return job_body(job), 202, job_location(job)
