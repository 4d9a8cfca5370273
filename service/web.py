"""The pages for people (home, forest plots, query gallery, SPARQL editor) and the static files they use.

Front-end packages come from the npm registry into web/node_modules (`make install` runs `npm ci` in
web/) and are served from here, never from a CDN: users may be offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from kg import paths
from service.routers import editor, forest, gallery, home

STATIC = Path(__file__).parent / "static"
YASGUI = paths.ROOT / "web" / "node_modules" / "@zazuko" / "yasgui" / "build"


def install(app: FastAPI) -> None:
    """Add the pages (before the API's own `/`, which answers clients that do not ask for HTML) and /static."""
    app.include_router(home.router)
    app.include_router(forest.router)
    app.include_router(gallery.router)
    app.include_router(editor.router)
    # The more specific mount first. check_dir=False: without `npm ci` the editor says so instead of failing to start.
    app.mount("/static/yasgui", StaticFiles(directory=YASGUI, check_dir=False), name="yasgui")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
