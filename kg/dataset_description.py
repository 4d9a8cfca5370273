"""The VoID / DCAT description of a release: version, licence, counts per named graph, prefixes, dumps,
SPARQL endpoint, example resources and the stored queries.

The one implementation: `kg describe`, `kg export --format void` and the service's `/void` all use it.
Nothing in it depends on when or where the build ran, so the same sources give the same bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata

from pyoxigraph import Literal, NamedNode, Quad, Triple

from kg import vocabulary as v
from kg.export import EXPORT_FORMATS, MEDIA_TYPES, TEXT_PREFIXES, rdf_bytes, release_quads
from kg.jsonld_context import CONTEXT_PREFIXES, load_context
from kg.querylib import StoredQuery, library
from kg.release import Release

VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
SH = "http://www.w3.org/ns/shacl#"
SCHEMA = "https://schema.org/"
VANN = "http://purl.org/vocab/vann/"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
LICENCE = "https://creativecommons.org/licenses/by/4.0/"
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
DATASET = v.BASE + "dataset"
ONTOLOGY = v.BASE + "ontology"
REVIEW = v.ID + "publication/kantarjian-2023"
REVIEW_DOI = "https://doi.org/10.1177/20406207231201454"
EXAMPLES = (REVIEW, v.ID + "study/tower", v.ID + "cohort/tower/blinatumomab", v.EKG + "BCellALL")
DESCRIPTION_PREFIXES = {
    **TEXT_PREFIXES,
    "void": VOID,
    "dcat": DCAT,
    "sh": SH,
    "schema": SCHEMA,
    "vann": VANN,
}
FORMATS = ("turtle", "nt", "jsonld", "xml")
TITLE = "evidence-kg: clinical-study evidence for blinatumomab in R/R and MRD-positive B-ALL"

A = NamedNode(v.RDF + "type")


def _n(iri: str) -> NamedNode:
    return NamedNode(iri)


def _int(value: int) -> Literal:
    return Literal(str(value), datatype=_n(v.XSD + "integer"))


def version(quads: list[Quad]) -> str:
    """The ontology's owl:versionInfo, else the installed package's version."""
    for q in quads:
        if q.subject == _n(ONTOLOGY) and q.predicate.value == v.OWL + "versionInfo":
            return q.object.value
    try:
        return metadata.version("evidence-kg")
    except metadata.PackageNotFoundError:
        return "0"


def description_triples(
    release: Release, base_url: str = DEFAULT_BASE_URL, queries: dict[str, StoredQuery] | None = None
) -> list[Triple]:
    """The description graph, sorted. `base_url` is where the service runs (no trailing slash)."""
    base = base_url.rstrip("/")
    stored = (queries if queries is not None else library()).values()
    out = {*_release_part(release, base), *_stored_queries(_n(DATASET), _n(base + "/sparql"), base, stored)}
    return sorted(out, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))


@lru_cache(maxsize=8)
def _release_part(release: Release, base: str) -> tuple[Triple, ...]:
    # A release never changes: read and count its quads once per base URL.
    quads = release_quads(release)
    ds, sparql = _n(DATASET), _n(base + "/sparql")
    triples = {q.triple for q in quads}
    out = [
        Triple(ds, A, _n(VOID + "Dataset")),
        Triple(ds, A, _n(DCAT + "Dataset")),
        Triple(ds, _n(v.DCTERMS + "title"), Literal(TITLE, language="en")),
        Triple(
            ds,
            _n(v.DCTERMS + "description"),
            Literal(
                "Studies, cohorts, outcome and response measurements, adverse-event incidences, comparisons and conflicts "
                "transcribed from the review by Kantarjian et al. 2023, each value with its printed text and source, "
                "with SSSOM mappings to MONDO, NCIt, MedDRA, ClinicalTrials.gov, DOI and other identifiers.",
                language="en",
            ),
        ),
        Triple(ds, _n(v.DCTERMS + "license"), _n(LICENCE)),
        Triple(ds, _n(v.DCTERMS + "source"), _n(REVIEW)),
        Triple(ds, _n(v.RDFS + "seeAlso"), _n(REVIEW_DOI)),
        Triple(ds, _n(v.DCTERMS + "identifier"), Literal("sha256:" + str(release.manifest.get("sha256", "")))),
        Triple(ds, _n(v.OWL + "versionInfo"), Literal(version(quads))),
        Triple(ds, _n(DCAT + "version"), Literal(version(quads))),
        Triple(ds, _n(VOID + "triples"), _int(len(triples))),
        Triple(ds, _n(VOID + "distinctSubjects"), _int(len({t.subject for t in triples}))),
        Triple(ds, _n(VOID + "properties"), _int(len({t.predicate for t in triples}))),
        Triple(ds, _n(VOID + "classes"), _int(len({t.object for t in triples if t.predicate == A}))),
        Triple(ds, _n(VOID + "uriSpace"), Literal(v.ID)),
        Triple(ds, _n(VOID + "vocabulary"), _n(ONTOLOGY)),
        Triple(ds, _n(VOID + "sparqlEndpoint"), sparql),
        Triple(ds, _n(VANN + "preferredNamespacePrefix"), Literal("ekgid")),
        Triple(ds, _n(VANN + "preferredNamespaceUri"), Literal(v.ID)),
        Triple(sparql, A, _n(DCAT + "DataService")),
        Triple(sparql, _n(DCAT + "endpointURL"), sparql),
        Triple(sparql, _n(v.DCTERMS + "conformsTo"), _n(SPARQL_PROTOCOL)),
        Triple(sparql, _n(DCAT + "servesDataset"), ds),
        Triple(ds, _n(DCAT + "accessService"), sparql),
    ]
    out += _prefixes(ds)
    out += _dumps(ds, base)
    out += _graphs(ds, base, quads)
    out += _linksets(ds, quads)
    subjects = {t.subject.value for t in triples if isinstance(t.subject, NamedNode)}
    out += [Triple(ds, _n(VOID + "exampleResource"), _n(iri)) for iri in EXAMPLES if iri in subjects]
    return tuple(out)


def _prefixes(ds: NamedNode) -> list[Triple]:
    """Every prefix the exports use, as SHACL prefix declarations, and each namespace as a void:vocabulary."""
    out = []
    for prefix, namespace in sorted(CONTEXT_PREFIXES.items()):
        decl = _n(f"{DATASET}#prefix-{prefix}")
        out += [
            Triple(ds, _n(SH + "declare"), decl),
            Triple(decl, _n(SH + "prefix"), Literal(prefix)),
            Triple(decl, _n(SH + "namespace"), Literal(namespace, datatype=_n(v.XSD + "anyURI"))),
        ]
        if namespace in v.PREFIXES.values():
            out.append(Triple(ds, _n(VOID + "vocabulary"), _n(namespace)))
    return out


def _dumps(ds: NamedNode, base: str) -> list[Triple]:
    out = []
    for fmt in EXPORT_FORMATS:
        dump = _n(f"{base}/export?format={fmt}")
        out += [
            Triple(ds, _n(VOID + "dataDump"), dump),
            Triple(ds, _n(DCAT + "distribution"), dump),
            Triple(dump, A, _n(DCAT + "Distribution")),
            Triple(dump, _n(DCAT + "downloadURL"), dump),
            Triple(dump, _n(DCAT + "mediaType"), _n("https://www.iana.org/assignments/media-types/" + MEDIA_TYPES[fmt])),
            Triple(dump, _n(v.DCTERMS + "license"), _n(LICENCE)),
        ]
    return out


def _graphs(ds: NamedNode, base: str, quads: list[Quad]) -> list[Triple]:
    """Each named graph is a subset with its own count and dump; the graph IRI names it."""
    counts = Counter(q.graph_name.value for q in set(quads))  # a store keeps each quad once
    out = []
    for name, graph in v.GRAPHS.items():
        out += [
            Triple(ds, _n(VOID + "subset"), graph),
            Triple(graph, A, _n(VOID + "Dataset")),
            Triple(graph, _n(v.DCTERMS + "title"), Literal(f"the {name} graph", language="en")),
            Triple(graph, _n(VOID + "triples"), _int(counts.get(graph.value, 0))),
            Triple(graph, _n(VOID + "dataDump"), _n(f"{base}/export/{name}")),
        ]
    return out


def _linksets(ds: NamedNode, quads: list[Quad]) -> list[Triple]:
    """The SSSOM mappings as one void:Linkset per SKOS mapping predicate."""
    mappings = v.GRAPHS["mappings"].value
    counts = Counter(q.predicate.value for q in quads if q.graph_name.value == mappings and q.predicate.value.endswith("Match"))
    out = []
    for predicate, count in sorted(counts.items()):
        linkset = _n(f"{DATASET}/linkset/{predicate.rsplit('#', 1)[-1]}")
        out += [
            Triple(ds, _n(VOID + "subset"), linkset),
            Triple(linkset, A, _n(VOID + "Linkset")),
            Triple(linkset, _n(VOID + "subjectsTarget"), ds),
            Triple(linkset, _n(VOID + "linkPredicate"), _n(predicate)),
            Triple(linkset, _n(VOID + "triples"), _int(count)),
        ]
    return out


def _stored_queries(ds: NamedNode, sparql: NamedNode, base: str, queries: Iterable[StoredQuery]) -> list[Triple]:
    """Stored queries as example SPARQL (the SIB sparql-examples shape) and as the service's routes."""
    out = []
    for q in queries:
        route = _n(f"{base}/queries/{q.name}")
        out += [
            Triple(ds, _n(v.RDFS + "seeAlso"), route),
            Triple(route, A, _n(SH + "SPARQLExecutable")),
            Triple(route, A, _n(SH + "SPARQLSelectExecutable")),
            Triple(route, A, _n(DCAT + "DataService")),
            Triple(route, _n(v.RDFS + "label"), Literal(q.name)),
            Triple(route, _n(v.DCTERMS + "title"), Literal(q.name)),
            Triple(route, _n(v.RDFS + "comment"), Literal(q.summary)),
            Triple(route, _n(v.DCTERMS + "description"), Literal(q.summary)),
            Triple(route, _n(SH + "select"), Literal(q.text)),
            Triple(route, _n(SCHEMA + "target"), sparql),
            Triple(route, _n(DCAT + "endpointURL"), route),
            Triple(route, _n(DCAT + "servesDataset"), ds),
        ]
    return out


def description_bytes(
    release: Release, fmt: str = "turtle", base_url: str = DEFAULT_BASE_URL, queries: dict[str, StoredQuery] | None = None
) -> bytes:
    """The description serialized in turtle, nt, jsonld or xml."""
    triples = description_triples(release, base_url, queries)
    if fmt == "jsonld":
        from kg.export import jsonld_bytes

        return jsonld_bytes(triples, context={**load_context(), **DESCRIPTION_PREFIXES})
    if fmt in ("turtle", "xml"):
        from pyoxigraph import serialize

        return serialize(triples, format=EXPORT_FORMATS[fmt], prefixes=DESCRIPTION_PREFIXES) or b""
    return rdf_bytes(triples, fmt)
