"""The HTTP service, exercised over a real uvicorn server on a loopback port (`kg serve`), as clients use it."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rdflib
from pyoxigraph import QueryResultsFormat, parse_query_results
from SPARQLWrapper import JSON, XML, SPARQLWrapper

from kg.querylib import library
from kg.release import current
from tests.conftest import ROOT

EKG = "https://w3id.org/evidence-kg/ontology#"
ID = "https://w3id.org/evidence-kg/id/"
GRAPH = "https://w3id.org/evidence-kg/graph/"
TOWER = ID + "study/tower"
PREFIXES = f"PREFIX ekg: <{EKG}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
STUDIES = PREFIXES + "SELECT ?study ?label WHERE { ?study a ekg:Study ; rdfs:label ?label } ORDER BY ?study"
TOWER_CONSTRUCT = PREFIXES + f"CONSTRUCT {{ <{TOWER}> ?p ?o }} WHERE {{ <{TOWER}> ?p ?o }}"
SPARQL_JSON = "application/sparql-results+json"


@pytest.fixture(scope="session")
def service(live_server: str) -> str:
    """`kg serve` on a free loopback port, serving the session's build (shared with the page tests)."""
    return live_server


@pytest.fixture(scope="session")
def http(service: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service, timeout=60) as client:
        yield client


def kg_bytes(*args: str, home: Path) -> bytes:
    """`python -m kg ...` stdout as bytes (CSV lines end in CRLF, so no text-mode translation)."""
    env = {**os.environ, "KG_HOME": str(home), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "kg", *args], capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def solutions(body: bytes, fmt: QueryResultsFormat) -> list[tuple[str, ...]]:
    if fmt == QueryResultsFormat.CSV:  # lossy by design, so Oxigraph won't read it back: plain cells
        return [tuple(row) for row in csv.reader(io.StringIO(body.decode()))][1:]
    result = parse_query_results(body, format=fmt)
    names = [v.value for v in result.variables]
    return [tuple(str(s[n]) if s[n] is not None else "" for n in names) for s in result]


# --- SPARQL 1.1 Protocol -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [JSON, XML])
def test_sparqlwrapper_select(service: str, fmt: str) -> None:
    client = SPARQLWrapper(service + "/sparql")
    client.setQuery(STUDIES)
    client.setReturnFormat(fmt)
    result = client.query().convert()
    if fmt == JSON:
        rows = {b["study"]["value"]: b["label"]["value"] for b in result["results"]["bindings"]}
    else:  # SPARQLWrapper hands back a DOM document
        rows = {}
        for r in result.getElementsByTagName("result"):
            cells = {
                b.getAttribute("name"): b.getElementsByTagName("uri") or b.getElementsByTagName("literal")
                for b in r.getElementsByTagName("binding")
            }
            rows[cells["study"][0].firstChild.data] = cells["label"][0].firstChild.data
    assert rows[TOWER] == "TOWER"
    assert len(rows) == current_counts(service)["studies"]


def current_counts(service: str) -> dict[str, int]:
    return {
        "studies": int(
            httpx.get(service + "/sparql", params={"query": PREFIXES + "SELECT (COUNT(*) AS ?n) { ?s a ekg:Study }"}).json()["results"][
                "bindings"
            ][0]["n"]["value"]
        )
    }


def test_select_counts_match_the_build(http: httpx.Client, built_home: Path) -> None:
    assert current_counts(str(http.base_url).rstrip("/"))["studies"] == current(built_home).manifest["counts"]["studies"]


def test_curl_style_form_post_csv(http: httpx.Client, embedded) -> None:  # type: ignore[no-untyped-def]
    r = http.post("/sparql", data={"query": STUDIES}, headers={"Accept": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["study", "label"]
    assert [TOWER, "TOWER"] in rows
    assert len(rows) - 1 == len(list(embedded.select(STUDIES)))


def test_sparql_query_body_tsv(http: httpx.Client) -> None:
    r = http.post(
        "/sparql", content=STUDIES.encode(), headers={"Content-Type": "application/sparql-query", "Accept": "text/tab-separated-values"}
    )
    assert r.status_code == 200, r.text
    rows = [line.split("\t") for line in r.text.splitlines()]  # TSV cells are N-Triples terms, quotes included
    assert rows[0] == ["?study", "?label"]
    assert [f"<{TOWER}>", '"TOWER"'] in rows


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        (SPARQL_JSON, QueryResultsFormat.JSON),
        ("application/sparql-results+xml", QueryResultsFormat.XML),
        ("text/csv", QueryResultsFormat.CSV),
        ("text/tab-separated-values", QueryResultsFormat.TSV),
        ("*/*", QueryResultsFormat.JSON),
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", QueryResultsFormat.XML),
    ],
)
def test_select_every_result_format_parses_back(http: httpx.Client, embedded, accept: str, fmt: QueryResultsFormat) -> None:  # type: ignore[no-untyped-def]
    r = http.get("/sparql", params={"query": STUDIES}, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    expected = solutions(embedded.select(STUDIES).serialize(format=fmt), fmt)
    assert solutions(r.content, fmt) == expected
    assert (f"<{TOWER}>", '"TOWER"') in expected or (TOWER, "TOWER") in expected


def test_ask(http: httpx.Client) -> None:
    r = http.get("/sparql", params={"query": f"ASK {{ <{TOWER}> a <{EKG}Study> }}"})
    assert r.json()["boolean"] is True
    r = http.get("/sparql", params={"query": f"ASK {{ <{TOWER}> a <{EKG}Cohort> }}"}, headers={"Accept": "application/sparql-results+xml"})
    assert ET.fromstring(r.content).find("{http://www.w3.org/2005/sparql-results#}boolean").text == "false"


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")],
)
def test_construct_every_rdf_format_parses_back(http: httpx.Client, accept: str, rdflib_format: str) -> None:
    r = http.post("/sparql", data={"query": TOWER_CONSTRUCT}, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(accept)
    g = rdflib.Graph().parse(data=r.content, format=rdflib_format)
    tower = rdflib.URIRef(TOWER)
    assert (tower, rdflib.RDFS.label, rdflib.Literal("TOWER")) in g
    assert (tower, rdflib.URIRef(EKG + "design"), rdflib.URIRef(EKG + "RandomisedDesign")) in g


def test_describe_is_rdf(http: httpx.Client) -> None:
    r = http.get("/sparql", params={"query": f"DESCRIBE <{TOWER}>"})
    g = rdflib.Graph().parse(data=r.content, format="turtle")
    assert (rdflib.URIRef(TOWER), rdflib.RDFS.label, rdflib.Literal("TOWER")) in g


def test_protocol_dataset(http: httpx.Client) -> None:
    counts = http.get("/health").json()["graphs"]
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"

    def n(params: dict | list, query: str = count) -> int:
        r = http.get("/sparql", params=[("query", query), *(params.items() if isinstance(params, dict) else params)])
        assert r.status_code == 200, r.text
        return int(r.json()["results"]["bindings"][0]["n"]["value"])

    assert n({"default-graph-uri": GRAPH + "ontology"}) == counts["ontology"]
    assert (
        n([("default-graph-uri", GRAPH + "ontology"), ("default-graph-uri", GRAPH + "mappings")]) == counts["ontology"] + counts["mappings"]
    )
    assert n({}, f"SELECT (COUNT(*) AS ?n) FROM <{GRAPH}data> WHERE {{ ?s ?p ?o }}") == counts["data"]
    assert n({"named-graph-uri": GRAPH + "data"}, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }") == counts["data"]
    # The protocol's dataset overrides the query's FROM.
    assert (
        n({"default-graph-uri": GRAPH + "mappings"}, f"SELECT (COUNT(*) AS ?n) FROM <{GRAPH}data> WHERE {{ ?s ?p ?o }}")
        == counts["mappings"]
    )
    # Without either, the default graph is the union of all graphs.
    assert n({}) >= max(counts.values())


@pytest.mark.parametrize(
    "params",
    [{"default-graph-uri": "http://example.org/other"}, {"named-graph-uri": "file:///etc/passwd"}],
)
def test_foreign_graph_uri_refused(http: httpx.Client, params: dict) -> None:
    r = http.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1", **params})
    assert r.status_code == 400
    assert "not one of this dataset's graphs" in r.text


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("post", {"data": {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}}),
        ("post", {"data": {"update": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}}),
        ("post", {"content": b"DELETE WHERE { ?s ?p ?o }", "headers": {"Content-Type": "application/sparql-update"}}),
        ("post", {"content": b"DROP ALL", "headers": {"Content-Type": "application/sparql-query"}}),
        ("get", {"params": {"query": "LOAD <http://example.org/x.ttl>"}}),
        ("get", {"params": {"update": "CLEAR DEFAULT"}}),
        ("get", {"params": {"query": "CREATE GRAPH <urn:g>"}}),
        ("get", {"params": {"query": "COPY DEFAULT TO <urn:g>"}}),
    ],
)
def test_updates_refused(http: httpx.Client, method: str, kwargs: dict) -> None:
    r = getattr(http, method)("/sparql", **kwargs)
    assert r.status_code == 403, r.text
    assert "read-only" in r.text
    assert http.get("/sparql", params={"query": "ASK { <urn:a> <urn:b> <urn:c> }"}).json()["boolean"] is False


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ ?s a ?t FILTER EXISTS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} LIMIT 1",
        "SELECT * WHERE {{ {{ SELECT ?s WHERE {{ OPTIONAL {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }} }}",
        "SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
        "SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    ],
)
def test_no_query_makes_the_server_call_out(http: httpx.Client, listener: tuple[int, list], template: str) -> None:
    port, seen = listener
    query = template.format(url=f"http://127.0.0.1:{port}/sparql")
    r = http.post("/sparql", data={"query": query})
    assert r.status_code in (400, 403), r.text
    assert "SERVICE" in r.text or "not one of this dataset's graphs" in r.text
    assert seen == []


def test_stored_queries_pass_the_checker(built_home: Path) -> None:
    from service.checking import QueryChecker

    checker = QueryChecker(frozenset(GRAPH + g for g in ("ontology", "data", "mappings", "provenance")))
    for q in library().values():
        assert checker.check(q.text).form in ("select", "ask", "construct", "describe"), q.name


def test_malformed_query_400_with_parser_message(http: httpx.Client) -> None:
    r = http.get("/sparql", params={"query": "SELEC ?s WHERE { ?s ?p ?o }"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/plain")
    assert "SELEC" in r.text and "line:1" in r.text
    r = http.get("/sparql", params={"query": "SELECT ?s WHERE { ?s ?p }"}, headers={"Accept": "application/json"})
    assert r.status_code == 400
    assert r.json()["status"] == 400 and "malformed query" in r.json()["error"]


def test_missing_query_and_duplicates(http: httpx.Client) -> None:
    assert http.get("/sparql").status_code == 400
    r = http.get("/sparql", params=[("query", "ASK {}"), ("query", "ASK {}")])
    assert r.status_code == 400 and "more than one" in r.text


def test_bad_accept_406(http: httpx.Client) -> None:
    r = http.get("/sparql", params={"query": STUDIES}, headers={"Accept": "image/png"})
    assert r.status_code == 406
    assert "text/csv" in r.text
    r = http.get("/sparql", params={"query": TOWER_CONSTRUCT}, headers={"Accept": "text/csv"})
    assert r.status_code == 406


def test_bad_content_type_415(http: httpx.Client) -> None:
    r = http.post("/sparql", content=STUDIES.encode(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert "application/sparql-query" in r.text


def test_body_and_query_size_capped(http: httpx.Client) -> None:
    r = http.post("/sparql", content=b"#" * 300_000, headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413
    long = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 70_000
    r = http.post("/sparql", content=long.encode(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413


def test_invalid_utf8_body_400(http: httpx.Client) -> None:
    r = http.post("/sparql", content=b"SELECT * WHERE { ?s ?p \xff }", headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 400 and "UTF-8" in r.text


# --- stored queries --------------------------------------------------------------------------------


def test_outcomes_csv_equals_cli(http: httpx.Client, built_home: Path) -> None:
    r = http.get("/queries/outcomes", params={"format": "csv"})
    assert r.status_code == 200
    assert r.content == kg_bytes("query", "outcomes", "--format", "csv", home=built_home)
    assert b"TOWER" in r.content


@pytest.mark.parametrize("name", sorted(library()))
def test_every_stored_query_over_http_equals_cli(http: httpx.Client, built_home: Path, name: str) -> None:
    examples = {p.name: p.example for p in library()[name].parameters if p.example is not None}
    r = http.get(f"/queries/{name}", params=examples, headers={"Accept": "text/csv"})
    assert r.status_code == 200, r.text
    cli_params = [arg for key, value in examples.items() for arg in ("--param", f"{key}={value}")]
    assert r.content == kg_bytes("query", name, *cli_params, "--format", "csv", home=built_home)


def test_stored_query_formats(http: httpx.Client) -> None:
    json_rows = solutions(http.get("/queries/cohorts").content, QueryResultsFormat.JSON)
    for keyword, fmt in (("xml", QueryResultsFormat.XML), ("tsv", QueryResultsFormat.TSV)):
        assert len(solutions(http.get("/queries/cohorts", params={"format": keyword}).content, fmt)) == len(json_rows)
    assert http.get("/queries/cohorts", params={"format": "png"}).status_code == 400


def test_query_list_and_openapi(http: httpx.Client) -> None:
    listed = {q["name"]: q for q in http.get("/queries").json()}
    assert set(listed) == set(library())
    assert "RFS" in listed["outcomes"]["summary"]
    spec = http.get("/openapi.json").json()
    for name, q in library().items():
        op = spec["paths"][f"/queries/{name}"]["get"]
        assert op["summary"] == q.summary
        declared = {p["name"] for p in op.get("parameters", [])}
        assert declared == {p.name for p in q.parameters} | {"format"}
    assert http.get("/docs").status_code == 200


def test_unknown_query_404(http: httpx.Client) -> None:
    r = http.get("/queries/no-such-query")
    assert r.status_code == 404
    assert r.json() == {"error": "no stored query named 'no-such-query' (see /queries)", "status": 404}
    r = http.get("/queries/outcomes", params={"studdy": "x"})
    assert r.status_code == 400 and "studdy" in r.json()["error"]


# --- exports, entities, ontology, description ------------------------------------------------------


def test_export_etag_304_and_gzip(http: httpx.Client, built_home: Path) -> None:
    r = http.get("/export", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"  # httpx decodes it for us
    manifest = current(built_home).manifest
    etag = r.headers["etag"]
    assert manifest["sha256"] in etag
    assert r.headers["last-modified"]
    g = rdflib.Graph().parse(data=r.content, format="turtle")
    assert len(g) == manifest["counts"]["triples"]
    assert http.get("/export", headers={"If-None-Match": etag}).status_code == 304
    assert http.get("/export", headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert http.get("/export", params={"format": "nt"}, headers={"If-None-Match": etag}).status_code == 200
    # The compressed bytes on the wire, as curl --compressed would get them.
    with http.stream("GET", "/export/data", params={"format": "nt"}, headers={"Accept-Encoding": "gzip"}) as raw:
        assert raw.headers["content-encoding"] == "gzip"
        wire = b"".join(raw.iter_raw())
    assert len(rdflib.Graph().parse(data=gzip.decompress(wire), format="nt")) == http.get("/health").json()["graphs"]["data"]


@pytest.mark.parametrize(
    ("params", "accept", "rdflib_format"),
    [
        ({}, "text/turtle", "turtle"),
        ({}, "application/n-triples", "nt"),
        ({}, "application/ld+json", "json-ld"),
        ({}, "application/rdf+xml", "xml"),
        ({"format": "nq"}, None, "nquads"),
        ({}, "application/trig", "trig"),
    ],
)
def test_export_graph_formats_parse(http: httpx.Client, params: dict, accept: str | None, rdflib_format: str) -> None:
    headers = {"Accept": accept} if accept else {}
    r = http.get("/export/mappings", params=params, headers=headers)
    assert r.status_code == 200, r.text
    expected = http.get("/health").json()["graphs"]["mappings"]
    if rdflib_format in ("nquads", "trig"):
        ds = rdflib.Dataset().parse(data=r.content, format=rdflib_format)
        assert len(ds.graph(rdflib.URIRef(GRAPH + "mappings"))) == expected
    else:
        assert len(rdflib.Graph().parse(data=r.content, format=rdflib_format)) == expected


def test_export_unknown_graph_and_format(http: httpx.Client) -> None:
    assert http.get("/export/secrets").status_code in (400, 404)
    assert http.get("/export", headers={"Accept": "application/pdf"}).status_code == 406


def test_entity_resolves_as_turtle_and_html(http: httpx.Client) -> None:
    r = http.get("/id/study/tower")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/turtle")
    g = rdflib.Graph().parse(data=r.content, format="turtle")
    tower = rdflib.URIRef(TOWER)
    assert (tower, rdflib.RDFS.label, rdflib.Literal("TOWER")) in g
    assert (tower, rdflib.URIRef(EKG + "reviewTable"), rdflib.Literal("Table 1")) in g
    # DESCRIBE-style: the labels of what it links to come along.
    assert (rdflib.URIRef(ID + "publication/ref-15"), rdflib.RDFS.label, None) in g
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = http.get("/id/study/tower", headers={"Accept": browser})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>TOWER</h1>" in page.text
    assert 'href="/id/publication/ref-15"' in page.text
    assert "Referenced by" in page.text  # its cohorts point at it
    jsonld = http.get("/id/study/tower", headers={"Accept": "application/ld+json"})
    assert (tower, rdflib.RDFS.label, rdflib.Literal("TOWER")) in rdflib.Graph().parse(data=jsonld.content, format="json-ld")


def test_unknown_entity_404(http: httpx.Client) -> None:
    r = http.get("/id/study/no-such-study")
    assert r.status_code == 404
    assert r.json()["status"] == 404


def test_ontology(http: httpx.Client) -> None:
    r = http.get("/ontology")
    assert r.headers["content-type"].startswith("text/turtle")
    g = rdflib.Graph().parse(data=r.content, format="turtle")
    assert (rdflib.URIRef(EKG + "Study"), rdflib.RDF.type, rdflib.OWL.Class) in g
    xml = http.get("/ontology", headers={"Accept": "application/rdf+xml"})
    assert len(rdflib.Graph().parse(data=xml.content, format="xml")) == len(g)
    html = http.get("/ontology", headers={"Accept": "text/html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "Study" in html.text and "Cohort" in html.text


def test_health_and_void(http: httpx.Client, built_home: Path) -> None:
    manifest = current(built_home).manifest
    health = http.get("/health").json()
    assert health["status"] == "ok" and health["release"] == manifest["release"]
    assert health["triples"] == manifest["counts"]["triples"]
    for path in ("/void", "/.well-known/void"):
        g = rdflib.Graph().parse(data=http.get(path).content, format="turtle")
        void = rdflib.Namespace("http://rdfs.org/ns/void#")
        dataset = rdflib.URIRef("https://w3id.org/evidence-kg/dataset")
        assert int(g.value(dataset, void.triples)) == manifest["counts"]["triples"]
        assert str(g.value(dataset, void.sparqlEndpoint)).endswith("/sparql")
        assert g.value(dataset, rdflib.DCTERMS.license) == rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/")
        subsets = {str(s): int(g.value(s, void.triples)) for s in g.objects(dataset, void.subset)}
        assert subsets[GRAPH + "data"] == health["graphs"]["data"]
    jsonld = http.get("/void", headers={"Accept": "application/ld+json"})
    assert json.loads(jsonld.content)


def test_errors_never_carry_tracebacks(http: httpx.Client) -> None:
    for r in (
        http.get("/nowhere"),
        http.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * 3000 + ") }"}),
        http.get("/sparql", params={"query": STUDIES}, headers={"Accept": "garbage"}),
        http.post("/sparql", content=b"query=%ZZ", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        http.get("/id/%00"),
    ):
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code, r.text)
        assert "Traceback" not in r.text


# --- typed parameters (the library has none yet: a real app over the real build, with a query that has) ---

PARAMETRISED = f"""#+ summary: Cohorts of one study with at least min_n patients treated
#+ params:
#+   min_n: {{type: integer, description: smallest n treated, default: 0}}
#+   study: {{type: string, description: the study's label, required: true, example: TOWER}}
#+   order: {{type: enum, enum: [n, cohort], description: sort key, default: cohort}}
#+ columns: [cohort, n]
PREFIX ekg: <{EKG}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?cohort ?n WHERE {{
  ?cohort a ekg:Cohort ; ekg:patientsTreated ?n ; ekg:inStudy/rdfs:label ?_study .
  FILTER(?n >= ?_min_n)
}} ORDER BY ?cohort
"""


@pytest.fixture(scope="module")
def typed_client(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from service.app import create_app

    folder = tmp_path_factory.mktemp("queries")
    (folder / "cohorts-of.rq").write_text(PARAMETRISED)
    with TestClient(create_app(built_home, queries_folder=folder)) as client:
        yield client


def _schema_facts(spec: dict, schema: object) -> tuple[set[str], set[str]]:
    """The JSON-schema types and enum values a parameter's schema allows, following $ref and anyOf."""
    types: set[str] = set()
    enums: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "$ref" in node:
                stack.append(spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]])
            if isinstance(node.get("type"), str):
                types.add(node["type"])
            enums.update(node.get("enum", []))
            stack.extend(node.get("anyOf", []))
    return types, enums


def test_parameters_typed_in_openapi(typed_client) -> None:  # type: ignore[no-untyped-def]
    spec = typed_client.get("/openapi.json").json()
    op = spec["paths"]["/queries/cohorts-of"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["study"]["required"] is True
    assert params["study"]["description"] == "the study's label"
    assert "integer" in _schema_facts(spec, params["min_n"]["schema"])[0]
    assert params["min_n"]["description"] == "smallest n treated (default: 0)"
    assert _schema_facts(spec, params["order"]["schema"])[1] == {"n", "cohort"}
    assert _schema_facts(spec, params["format"]["schema"])[1] == {"csv", "tsv", "json", "xml"}


def test_parameters_bound_and_validated(typed_client) -> None:  # type: ignore[no-untyped-def]
    tower = typed_client.get("/queries/cohorts-of", params={"study": "TOWER", "format": "csv"})
    assert tower.status_code == 200, tower.text
    rows = list(csv.reader(io.StringIO(tower.text)))[1:]
    assert rows and all(cohort.startswith(ID + "cohort/tower/") for cohort, _ in rows)
    assert typed_client.get("/queries/cohorts-of", params={"study": "TOWER", "min_n": 10**9, "format": "csv"}).text.strip() == "cohort,n"
    for bad in ({"study": "TOWER", "min_n": "ten"}, {"study": "TOWER", "order": "random"}, {}, {"study": "x" * 600}):
        r = typed_client.get("/queries/cohorts-of", params=bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["status"] == 400
    # A value is a literal, never query text.
    injected = typed_client.get("/queries/cohorts-of", params={"study": 'TOWER" } ; DROP ALL #', "format": "csv"})
    assert injected.status_code == 200 and injected.text.strip() == "cohort,n"
