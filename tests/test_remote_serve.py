"""`kg serve --endpoint`: the service in front of a real Oxigraph server that `kg push` loaded.

Answers are the embedded store's, byte for byte; refusals are the same; an endpoint that is down or silent
gets 502 / 504 naming it. The stored queries read the default graph as the union of the release's graphs:
the store's own (`--union-default-graph`, the default "store" dataset), or named in each query
(KG_ENDPOINT_DATASET=release), which also works on a store without it and hides the store's other graphs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kg import vocabulary as v
from tests.conftest import OxigraphServer, free_port, kg_serve, run_kg, start_oxigraph, stop

THEIRS = "INSERT DATA { GRAPH <http://example.org/theirs> { <http://example.org/s> <http://example.org/p> 1 } }"
LABELS = "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?s ?label LIMIT 50"
GRAPHS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
CSV = {"Accept": "text/csv"}


def _loaded(location: Path, home: Path, *, union_default_graph: bool) -> OxigraphServer:
    """A read-write Oxigraph server loaded by `kg push`, holding someone else's graph too."""
    server = start_oxigraph(location, read_only=False, union_default_graph=union_default_graph)
    try:
        run_kg("push", "--endpoint", server.url + "/update", home=home, check=True)
        httpx.post(server.url + "/update", content=THEIRS, headers={"Content-Type": "application/sparql-update"}).raise_for_status()
    except BaseException:
        stop(server.process)
        raise
    return server


@pytest.fixture(scope="module")
def store(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    server = _loaded(tmp_path_factory.mktemp("union-store"), built_home, union_default_graph=True)
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def plain_store(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """Its default graph is its own (empty) one, not the union."""
    server = _loaded(tmp_path_factory.mktemp("plain-store"), built_home, union_default_graph=False)
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def remote(store: OxigraphServer, built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kg serve --endpoint` on that store (the home has a release too: it must not be read)."""
    with kg_serve(built_home, tmp_path_factory.mktemp("remote-serve") / "server.log", endpoint=store.query_url) as url:
        yield url


def _same(embedded: httpx.Response, remote: httpx.Response) -> None:
    assert (remote.status_code, remote.headers["content-type"]) == (embedded.status_code, embedded.headers["content-type"])
    assert remote.content == embedded.content


def test_stored_queries_give_the_embedded_bytes(remote: str, live_server: str) -> None:
    study = httpx.get(remote + "/queries/study", params={"study": "tower", "format": "csv"})
    _same(httpx.get(live_server + "/queries/study", params={"study": "tower", "format": "csv"}), study)
    outcomes = httpx.get(remote + "/queries/outcomes", params={"format": "csv"}).text
    # TOWER, blinatumomab arm: median OS 7.7 months (95% CI 5.6-9.6) without censoring at HSCT (Table 1).
    assert "TOWER: blinatumomab arm,OS,median,7.7,,5.6,9.6" in outcomes
    names = [q["name"] for q in httpx.get(remote + "/queries").json()]
    assert len(names) >= 30
    for name in names:  # every stored query, with its defaults, in two formats
        for fmt in ("csv", "json"):
            _same(httpx.get(f"{live_server}/queries/{name}?format={fmt}"), httpx.get(f"{remote}/queries/{name}?format={fmt}"))


def test_sparql_answers_as_the_embedded_store(remote: str, live_server: str) -> None:
    for accept in ("application/sparql-results+json", "text/csv", "application/sparql-results+xml"):
        _same(*[httpx.get(base + "/sparql", params={"query": LABELS}, headers={"Accept": accept}) for base in (live_server, remote)])
    json_answer = httpx.post(remote + "/sparql", data={"query": LABELS}, headers={"Accept": "application/sparql-results+json"}).json()
    assert len(json_answer["results"]["bindings"]) == 50
    ask = httpx.get(remote + "/sparql", params={"query": "ASK { <https://w3id.org/evidence-kg/id/study/tower> ?p ?o }"})
    assert ask.json()["boolean"] is True
    # A dataset given by the protocol or by FROM is passed on as given.
    one = {"query": COUNT, "default-graph-uri": v.GRAPHS["mappings"].value}
    _same(*[httpx.get(base + "/sparql", params=one, headers=CSV) for base in (live_server, remote)])
    own = f"SELECT (COUNT(*) AS ?n) FROM <{v.GRAPHS['ontology'].value}> WHERE {{ ?s ?p ?o }}"
    _same(*[httpx.get(base + "/sparql", params={"query": own}, headers=CSV) for base in (live_server, remote)])
    # The store's default graph is the union of *all* its graphs: someone else's graph there is seen too.
    assert "http://example.org/theirs" in httpx.get(remote + "/sparql", params={"query": GRAPHS}, headers=CSV).text


def test_release_dataset_needs_no_union_default_graph(
    plain_store: OxigraphServer, built_home: Path, live_server: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with kg_serve(built_home, log, endpoint=plain_store.query_url) as misconfigured:  # "store": the stored queries would see nothing
        health = httpx.get(misconfigured + "/health").json()
        assert health["status"] == "degraded" and health["engine"]["dataset"] == "store"
        problem = health["engine"]["problem"]
        assert "is not the union of its graphs" in problem and "KG_ENDPOINT_DATASET=release" in problem
    with kg_serve(built_home, log, endpoint=plain_store.query_url, KG_ENDPOINT_DATASET="release") as named:
        assert httpx.get(named + "/health").json()["engine"]["ready"] is True
        for name in ("outcomes", "study", "cohorts"):
            _same(httpx.get(f"{live_server}/queries/{name}?format=csv"), httpx.get(f"{named}/queries/{name}?format=csv"))
        # The release's graphs are the dataset: the store's own default graph and someone else's graph are not seen.
        for query in (GRAPHS, COUNT, LABELS):
            _same(*[httpx.get(base + "/sparql", params={"query": query}, headers=CSV) for base in (live_server, named)])
        assert "theirs" not in httpx.get(named + "/sparql", params={"query": GRAPHS}, headers=CSV).text


def test_row_cap_and_graph_answers(remote: str) -> None:
    big = httpx.get(remote + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"}, headers={"Accept": "text/tab-separated-values"})
    assert big.status_code == 200 and big.headers["x-result-truncated"] == "true" and big.headers["x-result-limit"] == "10000"
    assert big.text.count("\n") == 10_001  # the header and the cap's rows
    tower = "<https://w3id.org/evidence-kg/id/study/tower>"
    described = httpx.get(remote + "/sparql", params={"query": f"CONSTRUCT WHERE {{ {tower} ?p ?o }}"}, headers={"Accept": "text/turtle"})
    assert described.status_code == 200 and described.headers["content-type"].startswith("text/turtle") and '"TOWER"' in described.text


def test_refusals_are_the_embedded_ones(remote: str, live_server: str) -> None:
    update = "INSERT DATA { <http://example.org/a> <http://example.org/b> 1 }"
    requests = [
        {"method": "POST", "url": "/sparql", "data": {"update": update}},
        {"method": "POST", "url": "/sparql", "content": update, "headers": {"Content-Type": "application/sparql-update"}},
        {"method": "GET", "url": "/sparql", "params": {"query": update}},
        {"method": "GET", "url": "/sparql", "params": {"query": "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"}},
        {"method": "GET", "url": "/sparql", "params": {"query": "SELECT * FROM <http://example.org/theirs> WHERE { ?s ?p ?o }"}},
        {"method": "GET", "url": "/sparql", "params": {"query": "SELECT * WHERE { ?s ?p"}},
    ]
    statuses = []
    for request in requests:
        embedded = httpx.request(**{**request, "url": live_server + request["url"]})
        answer = httpx.request(**{**request, "url": remote + request["url"]})
        _same(embedded, answer)  # refused before anything is sent: the same words
        statuses.append(answer.status_code)
    assert statuses == [403, 403, 403, 403, 400, 400]
    # What only the store's parser refuses is its verdict, with its words: 400 as on the embedded store.
    grouped = {"query": "SELECT * WHERE { ?s ?p ?o } GROUP BY ?s"}
    embedded, answer = (httpx.get(base + "/sparql", params=grouped) for base in (live_server, remote))
    assert embedded.status_code == answer.status_code == 400 and "SPARQL endpoint http://127.0.0.1" in answer.text


def test_pages_read_the_endpoint(remote: str, store: OxigraphServer, live_server: str) -> None:
    health = httpx.get(remote + "/health").json()
    assert health["engine"] == {"kind": "remote", "endpoint": store.query_url, "dataset": "store", "ready": True, "problem": None}
    assert health["status"] == "ok" and health["release"] is None
    page = httpx.get(remote + "/id/study/tower", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "TOWER" in page.text and "7.7" in page.text
    assert httpx.get(remote + "/id/study/no-such-study").status_code == 404
    assert "7.7" in httpx.get(remote + "/forest", params={"endpoint": "OS", "ph_status": "negative"}).text
    home = httpx.get(remote + "/", headers={"Accept": "text/html"})
    data_triples = httpx.get(live_server + "/health").json()["graphs"]["data"]
    assert home.status_code == 200 and f"({data_triples:,} triples)" in home.text  # counted on the endpoint
    for path in ("/export", "/export/data", "/void"):  # files of a local release: none is read
        answer = httpx.get(remote + path)
        assert answer.status_code == 404 and store.query_url in answer.json()["error"]


def test_kg_query_on_the_endpoint(store: OxigraphServer, built_home: Path, embedded) -> None:  # type: ignore[no-untyped-def]
    from kg.querylib import get
    from kg.results import serialize_result

    local = serialize_result(embedded.select(get("outcomes").bind({})), "csv").decode("utf-8").replace("\r\n", "\n")
    assert run_kg("query", "outcomes", "--format", "csv", "--endpoint", store.query_url, home=built_home, check=True).stdout == local


def test_an_endpoint_that_is_down_gets_502(built_home: Path, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/query"
    with kg_serve(built_home, tmp_path / "server.log", endpoint=down) as url:  # it starts: the endpoint may come up later
        health = httpx.get(url + "/health").json()
        assert health["status"] == "degraded" and health["engine"]["ready"] is False
        assert f"the SPARQL endpoint {down} could not be reached" in health["engine"]["problem"]
        for path in ("/sparql?query=ASK%7B%7D", "/queries/study?study=tower", "/id/study/tower"):
            answer = httpx.get(url + path, headers={"Accept": "application/json"})
            assert answer.status_code == 502, path
            assert f"the SPARQL endpoint {down} could not be reached" in answer.json()["error"]


def test_a_silent_endpoint_gets_504(built_home: Path, tmp_path: Path, listener: tuple[int, list]) -> None:
    port, _ = listener  # accepts connections and never answers
    silent = f"http://127.0.0.1:{port}/query"
    with kg_serve(built_home, tmp_path / "server.log", endpoint=silent, KG_QUERY_TIMEOUT="4") as url:
        answer = httpx.get(url + "/queries/study", params={"study": "tower"}, timeout=30)
        assert answer.status_code == 504
        assert answer.json()["error"] == f"the SPARQL endpoint {silent} did not answer within 3 s"


def test_a_bad_endpoint_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, built_home: Path) -> None:
    no_scheme = run_kg("serve", "--endpoint", "localhost:7878/query", "--port", str(free_port()), home=built_home, timeout=60)
    assert no_scheme.code == 2 and "--endpoint: 'localhost:7878/query' is not an http(s) URL" in no_scheme.stderr
    assert "Traceback" not in no_scheme.stderr
    monkeypatch.setenv("KG_ENDPOINT", "ftp://example.org/sparql")  # the same setting from the environment
    configured = run_kg("serve", "--port", str(free_port()), home=built_home, timeout=60)
    assert configured.code == 2 and "KG_ENDPOINT: 'ftp://example.org/sparql' is not an http(s) URL" in configured.stderr
