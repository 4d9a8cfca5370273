"""`kg push`: replace the release's named graphs in any SPARQL 1.1 store.

Two ways in, both standard:
- SPARQL 1.1 Update (default when an update endpoint is given): one request that drops the four graphs
  and inserts them again. A store that runs each update request as one transaction (Oxigraph, Fuseki/TDB2,
  GraphDB, RDF4J) applies it all or nothing: readers see the old dataset or the new one. With
  `chunk_size` the inserts are split over several requests, which is no longer atomic.
- SPARQL 1.1 Graph Store HTTP Protocol: one `PUT ?graph=<iri>` per named graph. Each PUT replaces its
  graph atomically; the four PUTs together are not one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

from kg import vocabulary as v
from kg.export import graph_iri
from kg.release import Release

METHODS = ("auto", "update", "gsp")


class PushError(RuntimeError):
    """The store refused or could not be reached; the message says which request and why."""


@dataclass(frozen=True)
class Target:
    update_url: str | None = None
    graph_store_url: str | None = None
    user: str | None = None
    password: str | None = None
    token: str | None = None
    digest: bool = False
    timeout: float = 300.0

    def client(self) -> httpx.Client:
        auth: httpx.Auth | None = None
        if self.user is not None:
            auth = (httpx.DigestAuth if self.digest else httpx.BasicAuth)(self.user, self.password or "")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(auth=auth, headers=headers, timeout=self.timeout)


@dataclass
class PushReport:
    method: str
    atomic: bool
    requests: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0
    graphs: dict[str, int] = field(default_factory=dict)  # graph IRI -> triples sent


def graph_lines(release: Release, iri: str) -> Iterator[bytes]:
    """One graph's triples as N-Triples lines, streamed from the release's dump (never all in memory):
    a dump line is the triple's line with the graph name before the final ' .'."""
    suffix = f" <{iri}> .\n".encode()
    with release.dump_path.open("rb") as f:
        for line in f:
            if line.endswith(suffix):
                yield line[: -len(suffix)] + b" .\n"


def _batches(lines: Iterator[bytes], size: int) -> Iterator[bytes]:
    """Lines joined into bodies of about 1 MB: a streamed request body without a chunk per line."""
    batch: list[bytes] = []
    held = 0
    for line in lines:
        batch.append(line)
        held += len(line)
        if held >= size:
            yield b"".join(batch)
            batch, held = [], 0
    if batch:
        yield b"".join(batch)


def _touches_blank_node(line: bytes) -> bool:
    # N-Triples: a blank node is `_:label` as subject (line start) or object; a literal may hold " _:" only
    # inside quotes, which would at worst send a plain triple in the blank nodes' request.
    return line.startswith(b"_:") or b" _:" in line


def _insert_data(iri: str, lines: list[bytes]) -> bytes:
    return b"INSERT DATA {\nGRAPH <" + iri.encode() + b"> {\n" + b"".join(lines) + b"}\n}\n"


def _insert_template(iri: str, lines: list[bytes]) -> bytes:
    """Triples with blank nodes as an INSERT template with an empty WHERE: standard SPARQL 1.1, and what
    stores that refuse blank nodes in INSERT DATA (Virtuoso 7: SP031) accept. The labels are scoped to the
    template, so a graph's blank-node triples always travel in one."""
    return b"INSERT {\nGRAPH <" + iri.encode() + b"> {\n" + b"".join(lines) + b"}\n} WHERE {}\n"


def update_requests(release: Release, graphs: list[str], chunk_size: int = 0) -> Iterator[bytes | _Body]:
    """SPARQL Update bodies: DROP SILENT + INSERT DATA (+ an INSERT template for the triples with blank
    nodes) for every graph in one request (streamed), or the drops and then inserts of at most
    `chunk_size` triples each."""
    drops = " ;\n".join(f"DROP SILENT GRAPH <{iri}>" for iri in graphs)
    linked = {iri: [line for line in graph_lines(release, iri) if _touches_blank_node(line)] for iri in graphs}
    if not chunk_size:

        def whole() -> Iterator[bytes]:
            yield (drops + " ;\nINSERT DATA {\n").encode()
            for iri in graphs:
                yield f"GRAPH <{iri}> {{\n".encode()
                yield from _batches((line for line in graph_lines(release, iri) if not _touches_blank_node(line)), 1 << 20)
                yield b"}\n"
            yield b"}\n"
            for iri in graphs:
                if linked[iri]:
                    yield b";\n" + _insert_template(iri, linked[iri])

        yield _Body(whole)
        return
    yield (drops + "\n").encode()
    for iri in graphs:
        if linked[iri]:
            yield _insert_template(iri, linked[iri])
        chunk: list[bytes] = []
        for line in graph_lines(release, iri):
            if not _touches_blank_node(line):
                chunk.append(line)
                if len(chunk) == chunk_size:
                    yield _insert_data(iri, chunk)
                    chunk = []
        if chunk:
            yield _insert_data(iri, chunk)


class _Body:
    """A request body streamed from the dump that can be sent again: Digest authentication sends a request
    twice (the first gets the 401 challenge), so each send starts a fresh stream. Its length is measured
    by a first pass, so that it goes with a Content-Length: Virtuoso 7 takes a chunked body as empty."""

    def __init__(self, make: Callable[[], Iterator[bytes]]) -> None:
        self.make, self.sent = make, 0
        self.length = sum(len(piece) for piece in make())

    def __iter__(self) -> Iterator[bytes]:
        self.sent = 0
        for piece in self.make():
            self.sent += len(piece)
            yield piece


def _send(client: httpx.Client, method: str, url: str, body: bytes | _Body, **kwargs) -> int:  # type: ignore[no-untyped-def]
    if isinstance(body, _Body):
        kwargs["headers"] = {**kwargs.get("headers", {}), "Content-Length": str(body.length)}
    try:
        response = client.request(method, url, content=body, **kwargs)
    except httpx.HTTPError as exc:
        raise PushError(f"{method} {url}: {exc or type(exc).__name__}") from None
    if response.status_code >= 400:
        detail = " ".join(response.text.split())[:300]
        raise PushError(f"{method} {url} answered {response.status_code} {response.reason_phrase}: {detail}")
    return len(body) if isinstance(body, bytes) else body.sent


def push(release: Release, target: Target, *, method: str = "auto", graphs: list[str] | None = None, chunk_size: int = 0) -> PushReport:
    """Replace the named graphs of `release` in the store; raise PushError on the first refused request.

    Request bodies are streamed from the dump: pushing 10^7 triples holds about one chunk in memory."""
    if method not in METHODS:
        raise PushError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if method == "auto":
        method = "update" if target.update_url else "gsp"
    if method == "update" and not target.update_url:
        raise PushError("SPARQL Update needs the store's update endpoint (--endpoint)")
    if method == "gsp" and not target.graph_store_url:
        raise PushError("the Graph Store Protocol needs the store's graph-store endpoint (--graph-store)")
    if chunk_size < 0:
        raise PushError("chunk size must be 0 (one request) or a positive number of triples")
    wanted = [graph_iri(g) for g in graphs] if graphs else [g.value for g in v.GRAPHS.values()]
    recorded = release.manifest.get("statistics", {}).get("graph_triples", {})
    counts = {iri: recorded[iri] if iri in recorded else sum(1 for _ in graph_lines(release, iri)) for iri in wanted}
    report = PushReport(method=method, atomic=False, graphs=counts)
    start = time.perf_counter()
    with target.client() as client:
        if method == "update":
            for body in update_requests(release, wanted, chunk_size):
                headers = {"Content-Type": "application/sparql-update"}
                report.bytes_sent += _send(client, "POST", str(target.update_url), body, headers=headers)
                report.requests += 1
            report.atomic = report.requests == 1
        else:
            for iri in wanted:
                # N-Triples is Turtle: every Graph Store implementation reads text/turtle.
                gsp_body = _Body(lambda iri=iri: _batches(graph_lines(release, iri), 1 << 20))  # type: ignore[misc]
                report.bytes_sent += _send(client, "PUT", str(target.graph_store_url), gsp_body, params={"graph": iri},
                                           headers={"Content-Type": "text/turtle"})  # fmt: skip
                report.requests += 1
            report.atomic = len(wanted) == 1
    report.seconds = time.perf_counter() - start
    return report
