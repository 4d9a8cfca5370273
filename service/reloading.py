"""Serving the release `current` points at: a rebuild is picked up without restarting `kg serve`.

`kg build` swaps the `current` symlink atomically once a release is whole, so a new target is always a
complete release. The watcher (every KG_WATCH_SECONDS) and POST /admin/reload open it (store, query
workers) before switching to it; requests already running finish on the release they started with.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from kg.release import current
from service.published import Published
from service.settings import Settings

log = logging.getLogger("service")


class Reloader:
    def __init__(self, app: FastAPI, home: Path, settings: Settings, queries_folder: Path | None) -> None:
        self.app = app
        self.home = home
        self.settings = settings
        self.queries_folder = queries_folder
        self._lock = asyncio.Lock()

    @property
    def published(self) -> Published:
        return self.app.state.published

    async def reload(self) -> bool:
        """Switch to the release `current` names now, if it is not the one served; True if switched."""
        async with self._lock:
            old = self.published
            if current(self.home).path == old.release.path:
                return False
            new = await run_in_threadpool(Published.open, self.home, self.settings, self.queries_folder)
            self.app.state.published = new
            log.info("now serving release %s (was %s)", new.release_id, old.release_id)
            await old.close()
            return True

    async def watch(self) -> None:
        """Poll `current` until cancelled; a failed reload is logged and the old release kept."""
        while True:
            await asyncio.sleep(self.settings.watch_seconds)
            try:
                await self.reload()
            except Exception:  # noqa: BLE001 - keep serving what we have
                log.exception("could not switch to the new release; still serving %s", self.published.release_id)
