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
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
from pyoxigraph import BlankNode, Quad, RdfFormat, serialize

from kg import vocabulary as v
from kg.export import graph_iri, release_quads
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


def graph_triples(release: Release, graphs: list[str] | None = None) -> dict[str, list[Quad]]:
    """The release's quads per named graph IRI (all four, or the ones asked for), in dump order."""
    wanted = [graph_iri(g) for g in graphs] if graphs else [g.value for g in v.GRAPHS.values()]
    by_graph: dict[str, list[Quad]] = {iri: [] for iri in wanted}
    for q in release_quads(release):
        if q.graph_name.value in by_graph:
            by_graph[q.graph_name.value].append(q)
    return by_graph


def _ntriples(quads: list[Quad]) -> str:
    return (serialize([q.triple for q in quads], format=RdfFormat.N_TRIPLES) or b"").decode("utf-8")


def _insert_data(pieces: list[tuple[str, list[Quad]]]) -> str:
    body = "\n".join(f"GRAPH <{iri}> {{\n{_ntriples(quads)}}}" for iri, quads in pieces if quads)
    return f"INSERT DATA {{\n{body}\n}}\n"


def update_requests(by_graph: dict[str, list[Quad]], chunk_size: int = 0) -> Iterator[str]:
    """SPARQL Update texts: DROP SILENT + INSERT DATA for every graph in one request, or the drops and
    then inserts of at most `chunk_size` triples each."""
    drops = " ;\n".join(f"DROP SILENT GRAPH <{iri}>" for iri in by_graph)
    if not chunk_size:
        yield drops + " ;\n" + _insert_data(list(by_graph.items()))
        return
    yield drops + "\n"
    for iri, quads in by_graph.items():
        # A blank-node label means one node only within one request: the triples that touch blank nodes
        # (the ontology's OWL restrictions and lists) go together, however many there are.
        linked = [q for q in quads if isinstance(q.subject, BlankNode) or isinstance(q.object, BlankNode)]
        if linked:
            yield _insert_data([(iri, linked)])
        rest = [q for q in quads if not (isinstance(q.subject, BlankNode) or isinstance(q.object, BlankNode))]
        for i in range(0, len(rest), chunk_size):
            yield _insert_data([(iri, rest[i : i + chunk_size])])


def _send(client: httpx.Client, method: str, url: str, **kwargs) -> int:  # type: ignore[no-untyped-def]
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise PushError(f"{method} {url}: {exc or type(exc).__name__}") from None
    if response.status_code >= 400:
        detail = " ".join(response.text.split())[:300]
        raise PushError(f"{method} {url} answered {response.status_code} {response.reason_phrase}: {detail}")
    return len(kwargs.get("content", b""))


def push(release: Release, target: Target, *, method: str = "auto", graphs: list[str] | None = None, chunk_size: int = 0) -> PushReport:
    """Replace the named graphs of `release` in the store; raise PushError on the first refused request."""
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
    by_graph = graph_triples(release, graphs)
    report = PushReport(method=method, atomic=False, graphs={iri: len(q) for iri, q in by_graph.items()})
    start = time.perf_counter()
    with target.client() as client:
        if method == "update":
            for text in update_requests(by_graph, chunk_size):
                report.bytes_sent += _send(
                    client, "POST", str(target.update_url), content=text.encode("utf-8"),
                    headers={"Content-Type": "application/sparql-update"},
                )
                report.requests += 1
            report.atomic = report.requests == 1
        else:
            for iri, quads in by_graph.items():
                # N-Triples is Turtle: every Graph Store implementation reads text/turtle.
                report.bytes_sent += _send(
                    client, "PUT", str(target.graph_store_url), params={"graph": iri},
                    content=_ntriples(quads).encode("utf-8"), headers={"Content-Type": "text/turtle"},
                )
                report.requests += 1
            report.atomic = len(by_graph) == 1
    report.seconds = time.perf_counter() - start
    return report
