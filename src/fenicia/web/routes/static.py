"""/static/{name}: the vendored htmx files (versioned names, cached for a year) and the stylesheet."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from fenicia.core.errors import NotFoundError
from fenicia.web.render import APP_CSS, STATIC_DIR
from fenicia.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)

IMMUTABLE = "public, max-age=31536000, immutable"  # the file name changes with the version
REVALIDATE = "public, max-age=300"
STATIC_FILES = {path.name: path for path in STATIC_DIR.iterdir() if path.suffix in (".js", ".css")}


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """Only the files shipped in ``web/static``: a name is looked up, never joined into a path."""
    path = STATIC_FILES.get(name)
    if path is None:
        raise NotFoundError(f"There is no static file '{name}'.", resolution="Reload the page.")
    cache = REVALIDATE if name == APP_CSS else IMMUTABLE
    return FileResponse(path, headers={"Cache-Control": cache})
