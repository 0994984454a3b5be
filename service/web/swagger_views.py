"""Blueprint "docs_page": Swagger UI over openapi.yaml, its assets from the pinned package."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

docs_page = Blueprint("docs_page", __name__)
# Only what /docs loads: the package also ships source maps and an index page we do not serve.
_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})


@docs_page.get("/docs", provide_automatic_options=False)
def docs() -> Any:
    """Interactive API documentation of GET /openapi.yaml."""
    return render_template("docs/swagger.html")


@docs_page.get("/docs/assets/<name>", provide_automatic_options=False)
def asset(name: str) -> Any:
    """One Swagger UI asset, from the swagger-ui-bundle package in the environment."""
    if name not in _ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name)
