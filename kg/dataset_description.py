"""The VoID / DCAT description of a release: version, licence, counts per named graph, prefixes, dumps,
SPARQL endpoint, example resources and the stored queries.

The one implementation: `kg describe`, `kg export --format void` and the service's `/void` all use it.
Nothing in it depends on when or where the build ran, so the same sources give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

from pyoxigraph import BlankNode, Literal, NamedNode, Store, Triple

from kg import vocabulary as v
from kg.export import EXPORT_FORMATS, MEDIA_TYPES, TEXT_PREFIXES, rdf_bytes
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
Term = NamedNode | BlankNode | Literal


def _n(iri: str) -> NamedNode:
    return NamedNode(iri)


def _int(value: int) -> Literal:
    return Literal(str(value), datatype=_n(v.XSD + "integer"))


def _one(store: Store, query: str) -> Term | None:
    rows = list(store.query(query))
    return rows[0][0] if rows else None


def _count(store: Store, query: str) -> int:
    n = _one(store, query)
    return int(n.value) if n is not None else 0


@dataclass(frozen=True)
class Statistics:
    """What VoID says of a release, counted by Oxigraph in its store (never the quads in Python)."""

    triples: int
    subjects: int
    properties: int
    classes: int
    graph_triples: dict[str, int]
    links: dict[str, int]  # SKOS mapping predicate -> links in the mappings graph
    version: str | None  # the ontology's owl:versionInfo
    examples: tuple[str, ...]  # those of EXAMPLES that the release has

    @classmethod
    def of(cls, store: Store, *, triples: int | None = None, graph_triples: dict[str, int] | None = None) -> Statistics:
        """Count in `store`; the counts kg.dump already made while writing the dump may be passed in."""
        union = "{ GRAPH ?g { ?s ?p ?o } }"
        if triples is None:
            triples = _count(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p ?o WHERE {union} }}")
        if graph_triples is None:
            per_graph = store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
            graph_triples = {row["g"].value: int(row["n"].value) for row in per_graph}
        mappings = v.GRAPHS["mappings"].value
        links = store.query(
            f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ GRAPH <{mappings}> {{ ?s ?p ?o FILTER(STRENDS(STR(?p), 'Match')) }} }} GROUP BY ?p"
        )
        version = _one(store, f"SELECT ?v WHERE {{ GRAPH ?g {{ <{ONTOLOGY}> <{v.OWL}versionInfo> ?v }} }} LIMIT 1")
        return cls(
            triples=triples,
            subjects=_count(store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {union}"),
            properties=_count(store, f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {union}"),
            classes=_count(store, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { GRAPH ?g { ?s a ?c } }"),
            graph_triples=dict(sorted(graph_triples.items())),
            links={row["p"].value: int(row["n"].value) for row in links},
            version=version.value if version is not None else None,
            examples=tuple(iri for iri in EXAMPLES if store.query(f"ASK {{ GRAPH ?g {{ <{iri}> ?p ?o }} }}")),
        )


def version(statistics: Statistics) -> str:
    """The ontology's owl:versionInfo, else the installed package's version."""
    if statistics.version is not None:
        return statistics.version
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
def _statistics(release: Release) -> Statistics:
    # Counted at build time (kg.build), or once here for a release built before that was recorded.
    recorded = release.manifest.get("statistics")
    if recorded is not None:
        return Statistics(**{**recorded, "examples": tuple(recorded["examples"])})
    return Statistics.of(release.open_store())


@lru_cache(maxsize=8)
def _release_part(release: Release, base: str) -> tuple[Triple, ...]:
    stats = _statistics(release)
    ds, sparql = _n(DATASET), _n(base + "/sparql")
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
        Triple(ds, _n(v.OWL + "versionInfo"), Literal(version(stats))),
        Triple(ds, _n(DCAT + "version"), Literal(version(stats))),
        Triple(ds, _n(VOID + "triples"), _int(stats.triples)),
        Triple(ds, _n(VOID + "distinctSubjects"), _int(stats.subjects)),
        Triple(ds, _n(VOID + "properties"), _int(stats.properties)),
        Triple(ds, _n(VOID + "classes"), _int(stats.classes)),
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
    out += _graphs(ds, base, stats)
    out += _linksets(ds, stats)
    out += [Triple(ds, _n(VOID + "exampleResource"), _n(iri)) for iri in stats.examples]
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


def _graphs(ds: NamedNode, base: str, stats: Statistics) -> list[Triple]:
    """Each named graph is a subset with its own count and dump; the graph IRI names it."""
    counts = stats.graph_triples
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


def _linksets(ds: NamedNode, stats: Statistics) -> list[Triple]:
    """The SSSOM mappings as one void:Linkset per SKOS mapping predicate."""
    out = []
    for predicate, count in sorted(stats.links.items()):
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
