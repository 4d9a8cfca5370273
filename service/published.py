"""What the service publishes: the current release, opened read-only once at startup, and facts about it;
or, with a remote SPARQL endpoint (`kg serve --endpoint`, KG_ENDPOINT), that endpoint's graphs."""

from __future__ import annotations

import email.utils
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from pyoxigraph import Store

from kg.engine import RemoteEngine
from kg.querylib import StoredQuery, library
from kg.release import Release, current, graph_names
from service.checking import QueryChecker
from service.errors import ApiError
from service.pool import QueryPool
from service.settings import Settings

log = logging.getLogger("service")


@dataclass
class Published:
    release: Release | None  # None: the graphs are served by `remote`, and no local release is read
    # What the pages' own queries read (`.query(text, use_default_graph_as_union=...)`): the release's store, or the endpoint.
    store: Store | RemoteEngine
    manifest: dict
    queries: dict[str, StoredQuery]
    graphs: dict[str, str]  # short name -> graph IRI
    graph_triples: dict[str, int]  # (empty for a remote endpoint: its graphs change without us)
    checker: QueryChecker
    settings: Settings
    pool: QueryPool  # the worker processes that run /sparql and stored queries on this release, with deadlines
    last_modified: str = field(default="")
    remote: RemoteEngine | None = None  # the endpoint every query is sent to (the workers' tasks carry it)
    _scratch: Path | None = None  # (remote) the empty store the workers open

    @classmethod
    def open(cls, home: Path, settings: Settings, queries_folder: Path | None = None) -> Published:
        if settings.endpoint is not None:
            return cls.open_remote(settings, queries_folder)
        release = current(home)
        store = release.open_store()
        graphs = graph_names()
        # Counted at build time: counting 10^7 quads here would take seconds of start-up.
        counts = release.manifest.get("statistics", {}).get("graph_triples") or {
            row["g"].value: int(row["n"].value)
            for row in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        }
        checker = QueryChecker(frozenset(graphs.values()), settings.check_cache_size)
        # Stored queries are the repository's own text (tests hold them to the checker's rules); their
        # parameters are validated terms bound in a VALUES block, so they skip the costly per-request check.
        queries = library(queries_folder)
        mtime = (release.path / "manifest.json").stat().st_mtime
        return cls(
            release=release,
            store=store,
            manifest=release.manifest,
            queries=queries,
            graphs=graphs,
            graph_triples={name: counts.get(iri, 0) for name, iri in graphs.items()},
            checker=checker,
            settings=settings,
            pool=_pool(release.store_path, checker, settings),
            last_modified=email.utils.formatdate(mtime, usegmt=True),
        )

    @classmethod
    def open_remote(cls, settings: Settings, queries_folder: Path | None = None) -> Published:
        """Serve the endpoint's graphs: queries are checked as always, then sent there. Nothing is asked of it
        at start-up, so the service starts (and says 502 per request) while the endpoint is down."""
        assert settings.endpoint is not None
        graphs = graph_names()
        checker = QueryChecker(frozenset(graphs.values()), settings.check_cache_size)
        # The query workers (service.worker) open a store when they start; they get an empty one, never used.
        scratch = Path(tempfile.mkdtemp(prefix="kg-remote-"))
        Store(str(scratch))  # creates it (the handle, dropped at once, closes it)
        log.info("serving the SPARQL endpoint %s, dataset: %s (no local release is read)", settings.endpoint, settings.endpoint_dataset)
        remote = RemoteEngine(settings.endpoint, timeout=remote_timeout(settings), dataset=settings.endpoint_dataset)
        try:
            pool = _pool(scratch, checker, settings)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return cls(
            release=None,
            store=remote,
            manifest={},
            queries=library(queries_folder),
            graphs=graphs,
            graph_triples={},
            checker=checker,
            settings=settings,
            pool=pool,
            remote=remote,
            _scratch=scratch,
        )

    async def close(self) -> None:
        await self.pool.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def local_release(self, what: str) -> Release:
        """The release, for routes that read its files; 404 when the service serves a remote endpoint instead."""
        if self.release is None:
            endpoint = self.remote.endpoint if self.remote else "a remote SPARQL endpoint"
            raise ApiError(
                404,
                f"this server serves the SPARQL endpoint {endpoint} and has no local release, so no {what}: "
                "get it where the release was built (`kg export`, `kg describe`), or CONSTRUCT what you need through /sparql",
            )
        return self.release

    @property
    def release_id(self) -> str:
        if self.release is None:
            return "remote"
        return str(self.manifest.get("release", self.release.path.name))

    @property
    def sha256(self) -> str:
        return str(self.manifest.get("sha256", self.release_id))

    @property
    def triples(self) -> int:
        return int(self.manifest.get("counts", {}).get("triples", 0))


def remote_timeout(settings: Settings) -> float:
    """How long the endpoint may be silent: a little less than the query's deadline, so that the worker can
    answer 504 naming the endpoint before the pool stops it (503)."""
    return settings.query_timeout * 0.75


def _pool(store_path: Path, checker: QueryChecker, settings: Settings) -> QueryPool:
    return QueryPool(
        store_path,
        checker.allowed_graphs,
        size=settings.query_workers,
        timeout=settings.query_timeout,
        memory_mb=settings.worker_memory_mb,
        per_client=settings.queries_per_client or None,
    )


def published(request: Request) -> Published:
    """FastAPI dependency: the app's one Published release."""
    return request.app.state.published
