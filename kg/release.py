"""Releases: each build is written whole into a new folder, then swapped in by renaming one symlink.

A build that fails or is killed leaves `current` pointing at the previous, intact release.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import RdfFormat, Store

from kg import vocabulary as v

KEEP = 3


@dataclass(frozen=True)
class Release:
    path: Path

    @property
    def store_path(self) -> Path:
        return self.path / "store"

    @property
    def dump_path(self) -> Path:
        return self.path / "graph.nq"

    @property
    def manifest(self) -> dict:
        return json.loads((self.path / "manifest.json").read_text())

    def open_store(self) -> Store:
        return Store.read_only(str(self.store_path))


class NoRelease(RuntimeError):
    pass


def current(home: Path) -> Release:
    link = home / "current"
    if not link.exists():
        raise NoRelease(f"no build in {home}: run `kg build` first")
    return Release(link.resolve())


@contextmanager
def staging(home: Path) -> Iterator[Path]:
    """A fresh, hidden release folder; removed whole if the block fails (or is interrupted)."""
    releases = home / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    name = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
    folder = releases / f".staging-{name}"
    folder.mkdir()
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def load_store(folder: Path) -> Store:
    """Bulk-load the folder's dump into its new store, in Rust, without Python objects per quad."""
    store = Store(str(folder / "store"))
    store.bulk_load(path=str(folder / "graph.nq"), format=RdfFormat.N_QUADS)
    store.flush()
    return store


def publish(home: Path, folder: Path, manifest: dict) -> Release:
    """Give a complete staging folder its manifest and make it `current` (one atomic rename)."""
    name = folder.name.removeprefix(".staging-")
    (folder / "manifest.json").write_text(json.dumps({**manifest, "release": name}, indent=2, sort_keys=True))
    final = folder.parent / name
    folder.rename(final)
    _swap(home, final)
    _prune(folder.parent, keep=final)
    return Release(final)


def _swap(home: Path, target: Path) -> None:
    tmp = home / f".current-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target.relative_to(home))
    os.replace(tmp, home / "current")  # rename(2) is atomic: readers see the old or the new release


def _prune(releases: Path, keep: Path) -> None:
    done = sorted(p for p in releases.iterdir() if not p.name.startswith("."))
    for old in done[:-KEEP]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
    # Staging folders of builds that were killed are debris, never a release.
    for debris in releases.glob(".staging-*"):
        if time.time() - debris.stat().st_mtime > 3600:
            shutil.rmtree(debris, ignore_errors=True)


def graph_names() -> dict[str, str]:
    return {name: node.value for name, node in v.GRAPHS.items()}
