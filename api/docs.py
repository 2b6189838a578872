"""The interactive API reference at /docs: Swagger UI rendering /openapi.json.

Swagger UI's files come from the ``swagger-ui-py`` package (Swagger UI 5, the
first to read OpenAPI 3.1), served from this process: the page works on a
network without a CDN, and no script from elsewhere runs beside the admin key
a reader may type in. Only the few files the page needs are served.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from api.problems import Problem


def _swagger_ui() -> Path:
    """The package's asset folder, found without importing it (its import
    pulls in the web-framework adapters we do not use)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
_START = """window.onload = () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
  });
};
"""
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>smsgw API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<noscript>The API reference needs JavaScript; the document itself is
<a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)
"""Swagger UI sets inline styles and draws icons as data: URLs; nothing else."""
_CACHE = "public, max-age=86400"


async def page(request: Request) -> Response:
    return HTMLResponse(_PAGE, headers={"Content-Security-Policy": _POLICY})


async def start(request: Request) -> Response:
    return Response(_START, media_type="text/javascript", headers={"Cache-Control": _CACHE})


def routes() -> list[BaseRoute]:
    """The routes, once the assets are known to be there (else the app does not start)."""
    folder = _swagger_ui()
    missing = [name for name in _ASSETS if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"swagger-ui-py lacks {', '.join(missing)} in {folder}")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        media_type = _ASSETS.get(name)
        if media_type is None:
            raise Problem(404, "not_found", "Not Found", f"no {name[:80]!r} here")
        return FileResponse(folder / name, media_type=media_type, headers={"Cache-Control": _CACHE})

    return [
        Route("/docs", page, methods=["GET"]),
        Route("/docs/start.js", start, methods=["GET"]),
        Route("/docs/{name}", asset, methods=["GET"]),
    ]
