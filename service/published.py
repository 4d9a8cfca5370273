"""What the service publishes: the current release, opened read-only once at startup, and facts about it."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from pyoxigraph import Store

from kg.querylib import StoredQuery, library
from kg.release import Release, current, graph_names
from service.checking import QueryChecker
from service.pool import QueryPool
from service.settings import Settings


@dataclass
class Published:
    release: Release
    store: Store
    manifest: dict
    queries: dict[str, StoredQuery]
    graphs: dict[str, str]  # short name -> graph IRI
    graph_triples: dict[str, int]
    checker: QueryChecker
    settings: Settings
    pool: QueryPool  # the worker processes that run /sparql and stored queries on this release, with deadlines
    last_modified: str = field(default="")

    @classmethod
    def open(cls, home: Path, settings: Settings, queries_folder: Path | None = None) -> Published:
        release = current(home)
        store = release.open_store()
        graphs = graph_names()
        counts = {
            row["g"].value: int(row["n"].value)
            for row in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        }
        checker = QueryChecker(frozenset(graphs.values()), settings.check_cache_size)
        # Stored queries are the repository's own text (tests hold them to the checker's rules); their
        # parameters are validated terms bound in a VALUES block, so they skip the costly per-request check.
        queries = library(queries_folder)
        mtime = (release.path / "manifest.json").stat().st_mtime
        pool = QueryPool(
            release.store_path,
            checker.allowed_graphs,
            size=settings.query_workers,
            timeout=settings.query_timeout,
            memory_mb=settings.worker_memory_mb,
            per_client=settings.queries_per_client or None,
        )
        return cls(
            release=release,
            store=store,
            manifest=release.manifest,
            queries=queries,
            graphs=graphs,
            graph_triples={name: counts.get(iri, 0) for name, iri in graphs.items()},
            checker=checker,
            settings=settings,
            pool=pool,
            last_modified=email.utils.formatdate(mtime, usegmt=True),
        )

    async def close(self) -> None:
        await self.pool.close()

    @property
    def release_id(self) -> str:
        return str(self.manifest.get("release", self.release.path.name))

    @property
    def sha256(self) -> str:
        return str(self.manifest.get("sha256", self.release_id))

    @property
    def triples(self) -> int:
        return int(self.manifest.get("counts", {}).get("triples", 0))


def published(request: Request) -> Published:
    """FastAPI dependency: the app's one Published release."""
    return request.app.state.published
