"""Exports for other knowledge bases: every format, one graph at a time, gzip, the JSON-LD context and the
VoID description; two builds in two homes give byte-identical files (test_core compares the plain
triple formats on stdout; here: the whole dump folder, gzip and N-Quads, under different hash seeds)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import httpx
import pytest
import rdflib
from pyoxigraph import CanonicalizationAlgorithm, Dataset, Quad, RdfFormat, parse

from kg import vocabulary as v
from kg.export import SUFFIXES, export_bytes, jsonld_bytes
from kg.jsonld_context import build_context, load_context
from kg.ontology import ontology_quads
from kg.release import current
from tests.conftest import kg_serve, run_kg

FORMATS = {"nt": RdfFormat.N_TRIPLES, "nq": RdfFormat.N_QUADS, "ttl": RdfFormat.TURTLE, "trig": RdfFormat.TRIG,
           "rdf": RdfFormat.RDF_XML, "jsonld": RdfFormat.JSON_LD}
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
DATASET = rdflib.URIRef(v.BASE + "dataset")


def _export_all(home: Path, folder: Path, seed: str) -> None:
    # A different hash seed per process: set and dict order must not leak into any file.
    old = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = seed
    try:
        run_kg("export", "--all", "-o", str(folder), home=home, check=True)
    finally:
        os.environ.pop("PYTHONHASHSEED") if old is None else os.environ.__setitem__("PYTHONHASHSEED", old)


@pytest.fixture(scope="module")
def dumps(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The dump folder of the session build, and of a second build of the same sources in another home."""
    other = tmp_path_factory.mktemp("second-home")
    run_kg("build", "--no-validate", home=other, check=True)  # validation does not change a byte of the output
    a, b = tmp_path_factory.mktemp("dump-a"), tmp_path_factory.mktemp("dump-b")
    _export_all(built_home, a, "1")
    _export_all(other, b, "2")
    return a, b


def test_every_export_file_is_byte_identical_across_builds(dumps: tuple[Path, Path]) -> None:
    a, b = dumps
    names = sorted(p.name for p in a.iterdir())
    expected = sorted([f"evidence-kg.{s}" for s in SUFFIXES.values()] + [f"evidence-kg.{s}.gz" for s in SUFFIXES.values()] + ["void.ttl"])
    assert names == expected
    assert sorted(p.name for p in b.iterdir()) == names
    different = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert not different, f"differ between two builds of the same sources: {different}"


def test_gzip_files_carry_no_timestamp_and_hold_the_plain_file(dumps: tuple[Path, Path]) -> None:
    a, _ = dumps
    for suffix in SUFFIXES.values():
        packed = (a / f"evidence-kg.{suffix}.gz").read_bytes()
        assert packed[4:8] == b"\0\0\0\0", suffix  # MTIME field of the gzip header
        assert gzip.decompress(packed) == (a / f"evidence-kg.{suffix}").read_bytes()


def _canonical(path: Path, fmt: RdfFormat, merge: bool) -> Dataset:
    dataset = Dataset()
    for item in parse(path=str(path), format=fmt):
        t = item.triple if isinstance(item, Quad) and merge else item
        dataset.add(t if isinstance(t, Quad) else Quad(t.subject, t.predicate, t.object))
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)  # the ontology's blank nodes
    return dataset


def test_every_format_reads_back_as_the_same_graph(dumps: tuple[Path, Path], built_home: Path) -> None:
    a, _ = dumps
    reference = set(_canonical(a / "evidence-kg.nt", RdfFormat.N_TRIPLES, merge=True))
    assert len(reference) == current(built_home).manifest["counts"]["triples"]
    for suffix, fmt in FORMATS.items():
        assert set(_canonical(a / f"evidence-kg.{suffix}", fmt, merge=True)) == reference, suffix
    # The dataset formats keep the four named graphs.
    nq = {q.graph_name.value for q in parse(path=str(a / "evidence-kg.nq"), format=RdfFormat.N_QUADS)}
    trig = {q.graph_name.value for q in parse(path=str(a / "evidence-kg.trig"), format=RdfFormat.TRIG)}
    assert nq == trig == {g.value for g in v.GRAPHS.values()}


def test_ntriples_are_sorted_and_turtle_is_prefixed(dumps: tuple[Path, Path]) -> None:
    a, _ = dumps
    lines = (a / "evidence-kg.nt").read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines, key=lambda line: line.split(" ", 1)[0]) and len(lines) == len(set(lines))
    quads = (a / "evidence-kg.nq").read_text(encoding="utf-8").splitlines()
    assert len(quads) == len(set(quads))
    turtle = (a / "evidence-kg.ttl").read_text(encoding="utf-8")
    assert "@prefix ekg: <https://w3id.org/evidence-kg/ontology#> ." in turtle
    assert "ekg:patientsTreated 271" in turtle  # TOWER's blinatumomab arm, as printed in Table 1
    assert "\\/" not in turtle  # instance IRIs are written whole, not as escaped local names


def test_one_named_graph_exports_alone(built_home: Path) -> None:
    release = current(built_home)
    total = 0
    for name, graph in v.GRAPHS.items():
        quads = list(parse(export_bytes(release, "nq", name), format=RdfFormat.N_QUADS))
        assert quads and {q.graph_name for q in quads} == {graph}, name
        total += len(set(quads))
    assert total == len(set(parse(path=str(release.dump_path), format=RdfFormat.N_QUADS)))
    result = run_kg("export", "--graph", "mappings", "--format", "trig", home=built_home, check=True)
    assert "<https://w3id.org/evidence-kg/graph/mappings> {" in result.stdout and "graph/data>" not in result.stdout
    bad = run_kg("export", "--graph", "everything", home=built_home)
    assert bad.code == 2 and "unknown graph 'everything'" in bad.stderr and "Traceback" not in bad.stderr


def test_jsonld_is_compacted_with_the_published_context(dumps: tuple[Path, Path]) -> None:
    a, _ = dumps
    document = json.loads((a / "evidence-kg.jsonld").read_text(encoding="utf-8"))
    assert document["@context"] == load_context()
    nodes = {node["@id"]: node for node in document["@graph"]}
    tower = nodes[v.ID + "cohort/tower/blinatumomab"]
    assert tower["@type"] == "Cohort" and tower["inStudy"] == v.ID + "study/tower" and tower["ageGroup"] == "ekg:Adult"
    assert tower["patientsTreated"] == "271"
    assert {"@id": "obo:MONDO_0004947"} in nodes["ekg:BCellALL"]["skos:exactMatch"]
    # rdflib reads it back with the same context to the same number of triples.
    assert len(rdflib.Graph().parse(data=json.dumps(document), format="json-ld")) == len(
        (a / "evidence-kg.nt").read_text(encoding="utf-8").splitlines()
    )


def test_published_context_is_in_step_with_the_ontology(built_home: Path) -> None:
    assert load_context() == build_context(ontology_quads()), "regenerate it: python -m kg.jsonld_context"
    context = load_context()
    used = {q.predicate.value for q in parse(path=str(current(built_home).dump_path), format=RdfFormat.N_QUADS)}
    terms = {(t["@id"] if isinstance(t, dict) else t) for t in context.values()}
    missing = sorted(p for p in used if p.startswith(v.EKG) and "ekg:" + p[len(v.EKG):] not in terms)
    assert not missing, f"ekg properties without a context term: {missing}"


def test_jsonld_order_does_not_depend_on_input_order() -> None:
    triples = list(parse(b"""<http://e/a> <http://e/p> "2", "1" , _:x . _:x <http://e/q> <http://e/b> .
        <http://e/c> <http://e/p> "3" .""", format=RdfFormat.TURTLE))
    assert jsonld_bytes(triples, {}) == jsonld_bytes(list(reversed(triples)), {})


def test_void_description_counts_versions_and_links(built_home: Path, embedded) -> None:  # type: ignore[no-untyped-def]
    result = run_kg("describe", "--base-url", "https://kg.example.org/", home=built_home, check=True)
    g = rdflib.Graph().parse(data=result.stdout, format="turtle")
    manifest = current(built_home).manifest
    assert int(g.value(DATASET, VOID.triples)) == manifest["counts"]["triples"]
    assert str(g.value(DATASET, rdflib.OWL.versionInfo)) == "0.1.0"  # the ontology's owl:versionInfo
    assert g.value(DATASET, rdflib.DCTERMS.license) == rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert g.value(DATASET, VOID.sparqlEndpoint) == rdflib.URIRef("https://kg.example.org/sparql")
    counts = {r["g"].value: int(r["n"].value) for r in embedded.select("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    subsets = {str(s): int(g.value(s, VOID.triples)) for s in g.objects(DATASET, VOID.subset) if str(s) in counts}
    assert subsets == counts and len(subsets) == 4
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    declared = {str(g.value(d, sh.prefix)): str(g.value(d, sh.namespace)) for d in g.objects(DATASET, sh.declare)}
    assert declared["ekg"] == v.EKG and declared["ekgid"] == v.ID
    examples = {str(e) for e in g.objects(DATASET, VOID.exampleResource)}
    assert v.ID + "study/tower" in examples
    for iri in examples:
        assert embedded.select(f"ASK {{ <{iri}> ?p ?o }}"), iri
    queries = {str(q) for q in g.subjects(rdflib.RDF.type, sh.SPARQLSelectExecutable)}
    assert "https://kg.example.org/queries/cohorts" in queries
    exact = g.value(predicate=VOID.linkPredicate, object=rdflib.SKOS.exactMatch)
    assert int(g.value(exact, VOID.triples)) > 0
    # `kg export --format void` is the same description.
    assert run_kg("export", "--format", "void", "--base-url", "https://kg.example.org", home=built_home, check=True).stdout == result.stdout


def test_jsonld_over_the_size_limit_is_refused_while_other_formats_stream(
    built_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    triples = current(built_home).manifest["counts"]["triples"]
    monkeypatch.setenv("KG_JSONLD_MAX_TRIPLES", str(triples - 1))  # this release is then one triple too big

    refused = run_kg("export", "--format", "jsonld", home=built_home)
    assert refused.code == 2 and refused.stdout == ""
    assert f"{triples:,} triples" in refused.stderr and "Turtle" in refused.stderr and "Traceback" not in refused.stderr
    assert run_kg("export", "--format", "turtle", home=built_home).code == 0
    run_kg("export", "--all", "-o", str(tmp_path / "dist"), home=built_home, check=True)
    assert (tmp_path / "dist" / "evidence-kg.ttl").is_file() and not (tmp_path / "dist" / "evidence-kg.jsonld").exists()

    with kg_serve(built_home, tmp_path / "server.log", KG_JSONLD_MAX_TRIPLES=str(triples - 1)) as url:
        response = httpx.get(url + "/export?format=jsonld")
        assert response.status_code == 413 and "KG_JSONLD_MAX_TRIPLES" in response.text
        assert httpx.get(url + "/export", headers={"Accept": "application/ld+json;q=0.9, text/turtle;q=0.5"}).status_code == 413
        nt = httpx.get(url + "/export?format=nt")
        assert nt.status_code == 200 and nt.content.count(b"\n") == triples
