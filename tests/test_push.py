"""`kg push` into a real read-write Oxigraph server: every stored query gives the same CSV there as on the
embedded store, and pushing again replaces the graphs instead of adding to them."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from pyoxigraph import BlankNode, RdfFormat, parse

from kg import vocabulary as v
from kg.push import Target, push
from kg.querylib import library
from kg.release import current
from kg.results import serialize_result
from tests.conftest import OxigraphServer, free_port, run_kg, start_oxigraph, stop

COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    srv = start_oxigraph(tmp_path_factory.mktemp("oxigraph-rw"), read_only=False)
    yield srv
    stop(srv.process)


def _counts(server: OxigraphServer) -> dict[str, int]:
    response = httpx.post(server.query_url, data={"query": COUNTS}, headers={"Accept": "application/sparql-results+json"})
    response.raise_for_status()
    return {b["g"]["value"]: int(b["n"]["value"]) for b in response.json()["results"]["bindings"]}


def _release_counts(home: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for q in set(parse(path=str(current(home).dump_path), format=RdfFormat.N_QUADS)):
        counts[q.graph_name.value] = counts.get(q.graph_name.value, 0) + 1
    return counts


BLANKS = "SELECT (COUNT(DISTINCT ?b) AS ?n) WHERE { GRAPH ?g { ?b ?p ?o FILTER(isBlank(?b)) } }"


def _blank_nodes(server: OxigraphServer) -> int:
    response = httpx.post(server.query_url, data={"query": BLANKS}, headers={"Accept": "application/sparql-results+json"})
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def _release_blank_nodes(home: Path) -> int:
    return len({q.subject for q in parse(path=str(current(home).dump_path), format=RdfFormat.N_QUADS) if isinstance(q.subject, BlankNode)})


def _update(server: OxigraphServer, text: str) -> None:
    httpx.post(server.url + "/update", content=text, headers={"Content-Type": "application/sparql-update"}).raise_for_status()


@pytest.fixture(scope="module")
def pushed(server: OxigraphServer, built_home: Path) -> OxigraphServer:
    result = run_kg("push", "--endpoint", server.url + "/update", home=built_home, check=True)
    assert "pushed by update in 1 request(s), in one transaction" in result.stdout
    return server


def test_every_stored_query_gives_the_same_csv_remotely(pushed: OxigraphServer, built_home: Path, embedded) -> None:  # type: ignore[no-untyped-def]
    queries = library()
    assert len(queries) >= 6

    def remote(name: str) -> str:
        return run_kg("query", name, "--format", "csv", "--endpoint", pushed.query_url, home=built_home, check=True).stdout

    with ThreadPoolExecutor(max_workers=4) as pool:  # one `kg` process per query; they wait on each other's start-up
        remote_csv = dict(zip(queries, pool.map(remote, queries), strict=True))
    for name, stored in queries.items():
        # The subprocess's stdout is read as text, which turns CSV's \r\n into \n.
        local = serialize_result(embedded.select(stored.bind({})), "csv").decode("utf-8").replace("\r\n", "\n")
        assert remote_csv[name] == local, name
        if not stored.is_violation_check:  # quality checks are empty by design; the others must give rows
            assert local.count("\n") > 1, f"{name} gives no rows: nothing was compared"


def test_pushing_again_replaces_the_graphs(pushed: OxigraphServer, built_home: Path) -> None:
    expected = _release_counts(built_home)
    assert _counts(pushed) == expected
    # A stale triple in one of our graphs goes; a graph that is not ours stays.
    _update(pushed, f"INSERT DATA {{ GRAPH <{v.GRAPHS['data'].value}> {{ <http://e/stale> <http://e/p> 1 }} "
                    "GRAPH <http://e/theirs> { <http://e/kept> <http://e/p> 1 } }")
    release = current(built_home)
    gsp = push(release, Target(graph_store_url=pushed.url + "/store"))  # Graph Store Protocol: PUT per graph
    assert (gsp.method, gsp.requests, gsp.atomic) == ("gsp", 4, False)
    assert _counts(pushed) == {**expected, "http://e/theirs": 1}
    chunked = push(release, Target(update_url=pushed.url + "/update"), chunk_size=500)  # SPARQL Update in pieces, smaller than a graph
    assert chunked.method == "update" and chunked.requests > 4 and not chunked.atomic
    assert _counts(pushed) == {**expected, "http://e/theirs": 1}
    # The OWL restrictions' blank nodes stay joined up: no chunk boundary split one node into two.
    assert _blank_nodes(pushed) == _release_blank_nodes(built_home) > 0
    result = run_kg("push", "--endpoint", pushed.url + "/update", home=built_home, check=True)  # one atomic request
    assert "in one transaction" in result.stdout
    assert _counts(pushed) == {**expected, "http://e/theirs": 1}


def test_push_one_graph_leaves_the_others(pushed: OxigraphServer, built_home: Path) -> None:
    _update(pushed, f"DROP GRAPH <{v.GRAPHS['mappings'].value}>")
    assert v.GRAPHS["mappings"].value not in _counts(pushed)
    result = run_kg("push", "--graph-store", pushed.url + "/store", "--graph", "mappings", home=built_home, check=True)
    assert "pushed by gsp in 1 request(s), in one transaction" in result.stdout
    assert {g: n for g, n in _counts(pushed).items() if g.startswith(v.GRAPH)} == _release_counts(built_home)


def test_push_failures_name_the_request_and_reason(pushed: OxigraphServer, built_home: Path) -> None:
    refused = run_kg("push", "--endpoint", f"http://127.0.0.1:{free_port()}/update", home=built_home)
    assert refused.code == 1 and "POST http://127.0.0.1:" in refused.stderr and "Traceback" not in refused.stderr
    wrong = run_kg("push", "--endpoint", pushed.query_url, home=built_home)  # the query endpoint takes no updates
    assert wrong.code == 1 and "answered 4" in wrong.stderr and "Traceback" not in wrong.stderr
    nothing = run_kg("push", home=built_home)
    assert nothing.code == 2 and "--endpoint" in nothing.stderr


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A plain HTTP server that keeps what each request said about its body, and the body."""

    seen: list[tuple[str, dict[str, str], bytes]] = []

    def _record(self) -> None:
        length = self.headers.get("Content-Length")
        body = self.rfile.read(int(length)) if length is not None else b""
        self.seen.append((self.command, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    do_PUT = do_POST = _record

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list]]:
    _Recorder.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", _Recorder.seen
    srv.shutdown()
    thread.join()


def test_streamed_bodies_carry_their_length_and_blank_nodes_go_in_an_insert_template(
    recorder: tuple[str, list], built_home: Path
) -> None:
    """Regression: Virtuoso 7 read a chunked (length-less) PUT body as empty and refuses blank nodes in
    INSERT DATA (SP031); the bodies are streamed from the dump, so their length must be sent up front."""
    url, seen = recorder
    release = current(built_home)
    push(release, Target(graph_store_url=url + "/store"))
    push(release, Target(update_url=url + "/update"))
    push(release, Target(update_url=url + "/update"), chunk_size=2000)
    for method, headers, body in seen:
        assert "transfer-encoding" not in headers, method
        assert int(headers["content-length"]) == len(body) > 0
    puts = [body for method, _, body in seen if method == "PUT"]
    assert sum(body.count(b"\n") for body in puts) == sum(release.manifest["statistics"]["graph_triples"].values())
    for _, _, body in (s for s in seen if s[0] == "POST"):
        data_blocks = body.split(b"INSERT {")[0]
        assert b" _:" not in data_blocks and not any(line.startswith(b"_:") for line in data_blocks.splitlines())
    whole = seen[4][2]  # the one-request update
    assert whole.startswith(b"DROP SILENT GRAPH") and b"INSERT {\nGRAPH <" + v.GRAPHS["ontology"].value.encode() + b">" in whole
