"""`/admin/reload`: the only route that changes what is served; mounted only when KG_ADMIN_TOKEN is set."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from pydantic import BaseModel

from service.errors import ApiError
from service.reloading import Reloader

router = APIRouter(prefix="/admin", tags=["admin"])


class Reloaded(BaseModel):
    release: str
    switched: bool


def _authorise(request: Request, token: str) -> None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "admin routes need `Authorization: Bearer <token>`", {"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError(403, "wrong admin token")


@router.post("/reload", response_model=Reloaded, summary="Serve the release `current` points at now (after a rebuild)")
async def reload(request: Request) -> Reloaded:
    """Needs `Authorization: Bearer <KG_ADMIN_TOKEN>`. Opens the new release before switching; running requests finish on the old one."""
    reloader: Reloader = request.app.state.reloader
    _authorise(request, reloader.settings.admin_token or "")
    switched = await reloader.reload()
    return Reloaded(release=reloader.published.release_id, switched=switched)
