"""Attacks and bad input against a real `kg serve` (uvicorn on a loopback port), and builds killed mid-way.

The servers here are configured the way SECURITY.md says an operator can: a short query time limit
(2 s, so that the cancelled-query cases stay quick), a small row cap, a low per-client rate limit.
"""

from __future__ import annotations

import http.client
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from pyoxigraph import QueryResultsFormat, Store, parse_query_results

from kg.querylib import library
from kg.release import current
from tests.conftest import ROOT, kg_serve

EKG = "https://w3id.org/evidence-kg/ontology#"
ID = "https://w3id.org/evidence-kg/id/"
TOWER = ID + "study/tower"
TIMEOUT = 2.0  # the hardened server's KG_QUERY_TIMEOUT
MAX_ROWS = 25
TOKEN = "test-admin-token-0123456789"
ASK_TOWER = f"ASK {{ <{TOWER}> a <{EKG}Study> }}"
# Pathological queries: each would run for minutes (or eat all memory) without the worker deadline.
SLOW = {
    "cartesian count": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o . ?a ?b ?c . ?x ?y ?z }",
    "deep property path": "SELECT (COUNT(*) AS ?n) WHERE { ?s (<urn:a>|!<urn:a>)* ?o }",
    "sorted cartesian": "SELECT * WHERE { ?s ?p ?o . ?a ?b ?c } ORDER BY ?o ?c",
    "huge VALUES": "SELECT (COUNT(*) AS ?n) WHERE { VALUES ?x { " + " ".join(f'"v{i}"' for i in range(7000)) + " } ?s ?p ?o . ?a ?b ?c }",
}


@pytest.fixture(scope="module")
def hardened(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    env = {
        "KG_QUERY_TIMEOUT": str(TIMEOUT),
        "KG_MAX_ROWS": str(MAX_ROWS),
        "KG_QUERY_WORKERS": "2",
        "KG_ADMIN_TOKEN": TOKEN,
        "KG_WATCH_SECONDS": "0",
        "KG_CORS_ORIGINS": "https://example.org",
    }
    with kg_serve(built_home, tmp_path_factory.mktemp("hardened") / "server.log", **env) as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client


def still_serving(client: httpx.Client) -> None:
    """The server answers a plain query and a stored query with the review's data."""
    assert client.get("/sparql", params={"query": ASK_TOWER}).json()["boolean"] is True
    studies = client.get("/queries/studies", params={"format": "csv"})
    assert studies.status_code == 200 and "TOWER" in studies.text


def workers_ready(client: httpx.Client) -> None:
    """Wait until every query worker is idle (a worker killed by an earlier test is replaced in the background)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = client.get("/health").json()["query_workers"]
        if workers["idle"] == workers["size"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"query workers not replaced: {workers}")


def no_traceback(r: httpx.Response) -> None:
    assert "Traceback" not in r.text and 'File "' not in r.text, r.text[:500]


# --- read-only and closed ------------------------------------------------------------------------

UPDATES = [
    "DELETE DATA { <urn:a> <urn:b> <urn:c> }",
    f"DELETE WHERE {{ <{TOWER}> ?p ?o }}",
    "INSERT { ?s <urn:p> 1 } WHERE { ?s ?p ?o }",
    "WITH <https://w3id.org/evidence-kg/graph/data> DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
    "PREFIX ex: <urn:x:> insert data { ex:a ex:b ex:c }",
    "CLEAR ALL",
    "DROP GRAPH <https://w3id.org/evidence-kg/graph/data>",
    "DROP SILENT NAMED",
    "CREATE SILENT GRAPH <urn:g>",
    "ADD DEFAULT TO <urn:g>",
    "MOVE <https://w3id.org/evidence-kg/graph/data> TO DEFAULT",
    "INSERT DATA { <urn:a> <urn:b> <urn:c> } ; DROP ALL",
    "# a comment first\nclear default",
]


@pytest.mark.parametrize("update", UPDATES)
def test_every_update_form_is_refused_on_every_route(hardened: httpx.Client, update: str) -> None:
    attempts = [
        hardened.get("/sparql", params={"query": update}),
        hardened.get("/sparql", params={"update": update}),
        hardened.post("/sparql", data={"query": update}),
        hardened.post("/sparql", data={"update": update}),
        hardened.post("/sparql", content=update.encode(), headers={"Content-Type": "application/sparql-query"}),
        hardened.post("/sparql", content=update.encode(), headers={"Content-Type": "application/sparql-update"}),
        hardened.post("/sparql", params={"update": update}, content=b"ASK {}", headers={"Content-Type": "application/sparql-query"}),
    ]
    for r in attempts:
        assert r.status_code == 403, (r.request.url, r.status_code, r.text)
        assert "read-only" in r.text
    still_serving(hardened)
    assert hardened.get("/sparql", params={"query": "ASK { <urn:a> ?p ?o }"}).json()["boolean"] is False


@pytest.mark.parametrize(
    "template",
    [
        "LOAD <http://127.0.0.1:{port}/data.ttl>",
        "LOAD SILENT <http://127.0.0.1:{port}/data.ttl> INTO GRAPH <urn:g>",
        "SELECT * WHERE {{ SERVICE ?endpoint {{ ?s ?p ?o }} VALUES ?endpoint {{ <http://127.0.0.1:{port}/sparql> }} }}",
        "ASK {{ MINUS {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }} }}",
        "DESCRIBE ?s WHERE {{ GRAPH ?g {{ SERVICE SILENT <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }} }}",
        "SELECT * FROM <http://127.0.0.1:{port}/graph.ttl> WHERE {{ ?s ?p ?o }}",
    ],
)
def test_nothing_makes_the_server_connect_out(hardened: httpx.Client, listener: tuple[int, list], template: str) -> None:
    port, seen = listener
    r = hardened.post("/sparql", data={"query": template.format(port=port)})
    assert r.status_code in (400, 403), r.text
    time.sleep(0.3)  # a connection attempt, had there been one, would have reached the listener by now
    assert seen == []


@pytest.mark.parametrize(
    "params",
    [
        {"query": "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }"},
        {"query": "SELECT * FROM NAMED <file:///etc/passwd> WHERE { GRAPH ?g { ?s ?p ?o } }"},
        {"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "default-graph-uri": "file:///etc/passwd"},
    ],
)
def test_local_files_are_never_read(hardened: httpx.Client, params: dict) -> None:
    r = hardened.get("/sparql", params=params)
    assert r.status_code == 400
    assert "not one of this dataset's graphs" in r.text
    assert "root:" not in r.text


def test_own_graphs_may_be_named_however_written(hardened: httpx.Client) -> None:
    """FROM / FROM NAMED are checked after prefixes and BASE are applied: no false refusals, no way around."""
    counts = hardened.get("/health").json()["graphs"]
    count = "SELECT (COUNT(*) AS ?n) {} WHERE {{ {} }}"
    for dataset, pattern, graph in (
        ("FROM g:mappings", "?s ?p ?o", "mappings"),
        ("FROM NAMED g:ontology", "GRAPH ?g { ?s ?p ?o }", "ontology"),
        ("FROM <provenance>", "?s ?p ?o", "provenance"),
    ):
        query = "PREFIX g: <https://w3id.org/evidence-kg/graph/> BASE <https://w3id.org/evidence-kg/graph/>\n"
        r = hardened.get("/sparql", params={"query": query + count.format(dataset, pattern)})
        assert r.status_code == 200, r.text
        assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == counts[graph]
    for query in (
        "PREFIX etc: <file:///etc/> SELECT * FROM etc:passwd WHERE { ?s ?p ?o }",
        "BASE <file:///etc/> SELECT * FROM NAMED <passwd> WHERE { GRAPH ?g { ?s ?p ?o } }",
        "SELECT * FROM undeclared:x WHERE { ?s ?p ?o }",
    ):
        r = hardened.get("/sparql", params={"query": query})
        assert r.status_code == 400, r.text
        assert "file:///etc/passwd" in r.text or "undeclared" in r.text


@pytest.mark.parametrize("text", ["", "   ", "# only a comment", "PREFIX ex: <urn:x:>"])
def test_an_empty_request_is_not_mistaken_for_an_update(hardened: httpx.Client, text: str) -> None:
    r = hardened.post("/sparql", data={"query": text})
    assert r.status_code == 400 and "malformed query" in r.text, r.text


# --- bounded work ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SLOW))
def test_pathological_query_is_cancelled_while_others_are_served(hardened: httpx.Client, name: str) -> None:
    workers_ready(hardened)
    with ThreadPoolExecutor(1) as pool:
        # The client's own timeout is the bound: the server must answer by the deadline plus a margin.
        slow = pool.submit(hardened.post, "/sparql", data={"query": SLOW[name]}, timeout=TIMEOUT + 5)
        time.sleep(0.3)
        still_serving(hardened)  # the other worker answers meanwhile
        r = slow.result()
    assert r.status_code == 503, r.text
    assert "Retry-After" in r.headers
    assert "query cancelled" in r.text or "stopped its worker" in r.text
    no_traceback(r)
    still_serving(hardened)
    workers_ready(hardened)  # the killed worker was replaced


def test_rows_are_capped_and_the_cut_is_stated(hardened: httpx.Client) -> None:
    everything = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    r = hardened.get("/sparql", params={"query": everything})
    assert r.status_code == 200
    assert r.headers["X-Result-Truncated"] == "true" and r.headers["X-Result-Limit"] == str(MAX_ROWS)
    assert len(list(parse_query_results(r.content, format=QueryResultsFormat.JSON))) == MAX_ROWS
    csv = hardened.get("/sparql", params={"query": everything}, headers={"Accept": "text/csv"})
    assert csv.text.splitlines()[0] == "s,p,o" and len(csv.text.splitlines()) == MAX_ROWS + 1
    # A cartesian product is cut off as it streams: the cap also stops the work.
    cartesian = hardened.get(
        "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o . ?a ?b ?c }"}, headers={"Accept": "text/tab-separated-values"}
    )
    assert cartesian.status_code == 200 and len(cartesian.text.splitlines()) == MAX_ROWS + 1
    construct = hardened.post("/sparql", data={"query": "CONSTRUCT WHERE { ?s ?p ?o }"}, headers={"Accept": "application/n-triples"})
    assert construct.headers["X-Result-Truncated"] == "true" and len(construct.text.splitlines()) == MAX_ROWS
    # Stored queries too; an answer under the cap says nothing.
    outcomes = hardened.get("/queries/outcomes", params={"format": "csv"})
    assert outcomes.headers["X-Result-Truncated"] == "true" and len(outcomes.text.splitlines()) == MAX_ROWS + 1
    small = hardened.get("/sparql", params={"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3"})
    assert "X-Result-Truncated" not in small.headers and len(small.json()["results"]["bindings"]) == 3


def test_exactly_the_cap_is_not_truncated(hardened: httpx.Client) -> None:
    r = hardened.get("/sparql", params={"query": f"SELECT ?s WHERE {{ ?s ?p ?o }} LIMIT {MAX_ROWS}"}, headers={"Accept": "text/csv"})
    assert "X-Result-Truncated" not in r.headers and len(r.text.splitlines()) == MAX_ROWS + 1


def test_long_queries_and_urls_are_refused(hardened: httpx.Client) -> None:
    long = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 70_000
    assert hardened.post("/sparql", data={"query": long}).status_code == 413
    # (httpx will not send a URL this long; http.client will. uvicorn's parser refuses it first (400), else we do (414).)
    connection = http.client.HTTPConnection(hardened.base_url.host, hardened.base_url.port, timeout=30)
    connection.request("GET", "/sparql?query=ASK%7B%7D%23" + "x" * 300_000)
    response = connection.getresponse()
    assert response.status in (400, 414), response.status
    assert b"Traceback" not in response.read()
    connection.close()
    still_serving(hardened)


# --- bad input -------------------------------------------------------------------------------------

BILLION_LAUGHS = (ROOT / "tests" / "broken" / "billion-laughs.rdf").read_bytes()


def test_billion_laughs_is_refused_without_expansion(hardened: httpx.Client) -> None:
    r = hardened.post("/sparql", content=BILLION_LAUGHS, headers={"Content-Type": "application/rdf+xml"})
    assert r.status_code == 415
    r = hardened.post("/sparql", content=BILLION_LAUGHS, headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 400 and "malformed query" in r.text
    r = hardened.post("/sparql", data={"query": BILLION_LAUGHS.decode()})
    assert r.status_code == 400
    still_serving(hardened)


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("get", "/sparql?query=SELECT%20*%20WHERE%20%7B%3Fs%20%3Fp%20%22%FF%22%7D", {}),
        ("get", "/queries/search?text=TOW%C3%28ER", {}),
        ("get", "/queries/outcomes?endpoint=%E9", {}),
        ("post", "/sparql", {"content": b"query=ASK%20%7B%FF%7D", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        ("post", "/sparql", {"content": b"ASK { \xc3\x28 }", "headers": {"Content-Type": "application/sparql-query"}}),
    ],
)
def test_invalid_utf8_is_400(hardened: httpx.Client, method: str, url: str, kwargs: dict) -> None:
    r = getattr(hardened, method)(url, **kwargs)
    assert r.status_code == 400, r.text
    assert "UTF-8" in r.text or "utf-8" in r.text
    no_traceback(r)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "multipart/form-data; boundary=x", "application/rdf+xml", ""])
def test_wrong_content_types_are_415(hardened: httpx.Client, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = hardened.post("/sparql", content=b"ASK {}", headers=headers)
    assert r.status_code == 415, r.text
    assert "application/sparql-query" in r.text


@pytest.mark.parametrize(
    ("path", "params", "expect"),
    [
        ("/queries/study", {"study": "tower> } SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } #"}, "does not match the pattern"),
        ("/queries/provenance", {"iri": "http://x> } ; DROP ALL ; <y"}, "not an IRI"),
        ("/queries/compare-age", {"endpoint": "OS' || 1=1"}, "endpoint"),
        ("/queries/search", {"text": "x" * 501}, "text"),
        ("/queries/search", {"text": "TOWER\x00"}, "NUL"),
        ("/queries/search", {"text": "TOWER", "query": "DROP ALL"}, "has no parameter 'query'"),
        ("/queries/outcomes", {"format": "../../etc/passwd"}, "format"),
    ],
)
def test_stored_query_parameter_attacks_are_400(hardened: httpx.Client, path: str, params: dict, expect: str) -> None:
    r = hardened.get(path, params=params)
    assert r.status_code == 400, r.text
    assert expect in r.json()["error"]
    no_traceback(r)


def test_parameter_values_are_literals_never_query_text(hardened: httpx.Client, listener: tuple[int, list]) -> None:
    port, seen = listener
    injected = hardened.get("/queries/search", params={"text": 'TOWER" } ; DROP ALL ; SELECT * { "', "format": "csv"})
    assert injected.status_code == 200 and injected.text.splitlines()[1:] == []
    far = hardened.get("/queries/provenance", params={"iri": f"http://127.0.0.1:{port}/x", "format": "csv"})
    assert far.status_code == 200 and far.text.splitlines()[1:] == []
    assert seen == []
    still_serving(hardened)


def test_missing_and_odd_parameters_are_4xx(hardened: httpx.Client) -> None:
    for r in (
        hardened.get("/sparql"),
        hardened.get("/sparql", params={"query": ""}),
        hardened.post("/sparql", data={}),
        hardened.get("/sparql", params=[("query", "ASK {}")] * 2),
        hardened.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": "\x7f;;q=x"}),
        hardened.get("/sparql", params={"query": "ASK {}", "named-graph-uri": "x" * 5000}),
        hardened.post("/sparql", content=b"query=" + b"&" * 5000, headers={"Content-Type": "application/x-www-form-urlencoded"}),
        hardened.get("/queries/outcomes", params={"endpoint": ""}),
        hardened.get("/id/" + "a" * 10_000),
    ):
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code, r.text[:300])
        no_traceback(r)


# --- write access and CORS -------------------------------------------------------------------------


def test_admin_reload_needs_the_token(hardened: httpx.Client) -> None:
    assert hardened.post("/admin/reload").status_code == 401
    assert hardened.post("/admin/reload", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 403
    r = hardened.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["switched"] is False
    assert r.json()["release"] == hardened.get("/health").json()["release"]


def test_no_admin_route_without_a_token(live_server: str) -> None:
    assert httpx.post(live_server + "/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).status_code in (404, 405)
    assert not any(path.startswith("/admin") for path in httpx.get(live_server + "/openapi.json").json()["paths"])


def test_cors_is_open_for_reading_only(hardened: httpx.Client) -> None:
    origin = {"Origin": "https://example.org"}
    r = hardened.get("/sparql", params={"query": ASK_TOWER}, headers=origin)
    assert r.headers["access-control-allow-origin"] == "https://example.org"
    assert "access-control-allow-credentials" not in r.headers
    other = hardened.get("/sparql", params={"query": ASK_TOWER}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = {**origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    assert hardened.options("/admin/reload", headers=preflight).status_code == 400  # the token never crosses origins


# --- floods ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rationed(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server that counts loopback clients too: 20 requests a minute, one query at a time each."""
    env = {
        "KG_RATE_LIMIT": "20/minute",
        "KG_RATE_LIMIT_LOOPBACK": "1",
        "KG_QUERIES_PER_CLIENT": "1",
        "KG_QUERY_TIMEOUT": str(TIMEOUT),
        "KG_WATCH_SECONDS": "0",
    }
    with kg_serve(built_home, tmp_path_factory.mktemp("rationed") / "server.log", **env) as url:
        yield url


def test_one_client_gets_one_query_at_a_time(rationed: str) -> None:
    """With one slot per client, a client's third concurrent query waits past the limit and gets 429."""
    query = {"query": SLOW["deep property path"]}
    with httpx.Client(base_url=rationed, timeout=30) as client, ThreadPoolExecutor(3) as pool:
        workers_ready(client)
        first = pool.submit(client.post, "/sparql", data=query)
        time.sleep(0.4)
        later = [pool.submit(client.post, "/sparql", data=query) for _ in range(2)]
        codes = sorted([first.result().status_code] + [f.result().status_code for f in later])
        refused = [f.result() for f in later if f.result().status_code == 429]
    assert codes == [429, 503, 503], codes  # two ran to the deadline, one in turn; the third never got a turn
    assert refused[0].headers["Retry-After"].isdigit()
    assert "queries running at once" in refused[0].text


def test_flood_gets_429_with_retry_after(rationed: str) -> None:
    with httpx.Client(base_url=rationed, timeout=30) as client:
        workers_ready(client)
        codes = [client.get("/queries/studies", params={"format": "csv"}) for _ in range(30)]
        refused = [r for r in codes if r.status_code == 429]
        assert refused and all(r.status_code in (200, 429) for r in codes)
        assert sum(r.status_code == 200 for r in codes) <= 20
        assert 1 <= int(refused[0].headers["Retry-After"]) <= 60
        assert "too many requests" in refused[0].json()["error"]
        assert client.get("/health").status_code == 200  # liveness probes are never rationed


# --- builds killed mid-way -------------------------------------------------------------------------


def _kill_build_when(home: Path, ready) -> int:  # type: ignore[no-untyped-def]
    """Start `kg build --home home`, SIGKILL it once `ready(elapsed)` says so; its return code."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg", "build", "--home", str(home)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    start = time.monotonic()
    while proc.poll() is None and not ready(time.monotonic() - start):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    return proc.wait()


def _wait_until_served(client: httpx.Client, release: str) -> None:
    """A finished build is picked up by the running server's release watcher within moments."""
    deadline = time.monotonic() + 30
    while client.get("/health").json()["release"] != release and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_killed_build_leaves_the_previous_release_serving(built_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(built_home, home, symlinks=True)
    before = current(home)
    assert before.path.parent == home / "releases"
    studies = library()["studies"].bind()
    expected = len(list(Store.read_only(str(before.store_path)).query(studies, use_default_graph_as_union=True)))

    def staging(inner: str):  # type: ignore[no-untyped-def]
        return lambda _elapsed: any((p / inner).exists() for p in (home / "releases").glob(".staging-*"))

    # While starting, while building RDF / validating, as the release folder appears, while the store is loaded.
    moments = [lambda t: t > 0.5, lambda t: t > 2.0, staging(""), staging("store")]
    with kg_serve(home, tmp_path / "server.log", KG_WATCH_SECONDS="0.3") as url, httpx.Client(base_url=url, timeout=30) as client:
        for moment in moments:
            code = _kill_build_when(home, moment)
            after = current(home)
            if code == 0:  # the build beat the kill: it must then be whole and current (rare on a fast machine)
                assert (after.path / "manifest.json").is_file()
                before = after
                _wait_until_served(client, after.manifest["release"])
                continue
            assert code == -signal.SIGKILL
            if after.path != before.path:
                # Killed after its atomic swap (on its way out): the new release must then be whole.
                assert after.manifest["release"] == after.path.name
                assert len(list(Store.read_only(str(after.store_path)).query(studies, use_default_graph_as_union=True))) == expected
                before = after
                _wait_until_served(client, after.manifest["release"])
                continue
            if moment in moments[2:]:  # killed while writing: its half-written folder is left behind, unused
                assert list((home / "releases").glob(".staging-*"))
            assert after.manifest["release"] == before.manifest["release"]
            rows = list(Store.read_only(str(after.store_path)).query(studies, use_default_graph_as_union=True))
            assert len(rows) == expected
            assert client.get("/health").json()["release"] == before.manifest["release"]
            still_serving(client)
        # A build that completes is picked up by the running server without a restart.
        done = subprocess.run([sys.executable, "-m", "kg", "build", "--home", str(home)], cwd=ROOT, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        new_release = current(home).manifest["release"]
        assert new_release != before.manifest["release"]
        deadline = time.monotonic() + 30
        while client.get("/health").json()["release"] != new_release and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get("/health").json()["release"] == new_release
        still_serving(client)
