"""The Swagger UI's own files, served by the API: the docs page works offline.

The files come from the ``swagger-ui-bundle`` wheel; ``OPENAPI_SWAGGER_UI_URL`` points the
page flask-smorest renders at :data:`ASSETS_URL`, under the docs prefix that stays open.
"""

from flask import Blueprint, send_from_directory
from werkzeug.wrappers import Response

ASSETS_URL = "/api/v1/docs/assets/"

blp = Blueprint("swagger_ui_assets", __name__)


@blp.route(f"{ASSETS_URL}<path:filename>")
def asset(filename: str) -> Response:
    """One file of the Swagger UI bundle (404 for anything else)."""
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(swagger_ui_path, filename, max_age=86400)
