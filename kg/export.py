"""Deterministic exports of a release: sorted input to the serializers gives identical bytes.

Oxigraph writes every format but JSON-LD, which it can only write expanded; compacted JSON-LD with the
published context (ontology/context.jsonld) is written by rdflib and then put in a canonical order.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from pyoxigraph import BlankNode, NamedNode, Quad, RdfFormat, Triple, parse, serialize

from kg import vocabulary as v
from kg.jsonld_context import CONTEXT_PREFIXES, load_context
from kg.release import Release

EXPORT_FORMATS = {
    "turtle": RdfFormat.TURTLE,
    "nt": RdfFormat.N_TRIPLES,
    "nq": RdfFormat.N_QUADS,
    "trig": RdfFormat.TRIG,
    "jsonld": RdfFormat.JSON_LD,
    "xml": RdfFormat.RDF_XML,
}
MEDIA_TYPES = {
    "turtle": "text/turtle",
    "nt": "application/n-triples",
    "nq": "application/n-quads",
    "trig": "application/trig",
    "jsonld": "application/ld+json",
    "xml": "application/rdf+xml",
}
SUFFIXES = {"turtle": "ttl", "nt": "nt", "nq": "nq", "trig": "trig", "jsonld": "jsonld", "xml": "rdf"}
DATASET_FORMATS = {"nq", "trig"}
GRAPH_NAMES = tuple(v.GRAPHS)
# Instance IRIs (ekgid:cohort/tower/...) would need escaped local names (`ekgid:cohort\/tower`),
# which some loaders reject: the text formats write them as full IRIs.
TEXT_PREFIXES = {k: ns for k, ns in CONTEXT_PREFIXES.items() if k != "ekgid"}


class ExportError(ValueError):
    pass


def graph_iri(graph: str) -> str:
    """A named graph given by short name (`data`) or by IRI, as its IRI."""
    if graph in v.GRAPHS:
        return v.GRAPHS[graph].value
    if graph in {g.value for g in v.GRAPHS.values()}:
        return graph
    raise ExportError(f"unknown graph {graph!r}: one of {', '.join(GRAPH_NAMES)}")


def release_quads(release: Release) -> list[Quad]:
    """The release's quads in the stable order they were dumped in, each once (the dump may repeat a quad
    that two mapping rows both emit)."""
    return list(dict.fromkeys(parse(path=str(release.dump_path), format=RdfFormat.N_QUADS)))


def merged_triples(quads: list[Quad]) -> list[Triple]:
    """The union of the graphs, each triple once, sorted."""
    return sorted({q.triple for q in quads}, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))


def export_bytes(release: Release, fmt: str, graph: str | None = None) -> bytes:
    """Serialize the release (or one named graph, by name or IRI) in `fmt`; triple formats merge the graphs."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r}: one of {', '.join(EXPORT_FORMATS)}")
    iri = graph_iri(graph) if graph is not None else None
    if fmt in ("nq", "nt"):
        return _line_export(release, fmt, iri)
    if fmt not in DATASET_FORMATS:
        # The merged, sorted triples re-read from their N-Triples lines: no Python sort of a million Triples.
        return rdf_bytes(list(parse(_line_export(release, "nt", iri), format=RdfFormat.N_TRIPLES)), fmt)
    quads = release_quads(release)
    if graph is not None:
        iri = graph_iri(graph)
        quads = [q for q in quads if q.graph_name.value == iri]
    if fmt in DATASET_FORMATS:
        return rdf_bytes(quads, fmt)
    return rdf_bytes(merged_triples(quads), fmt)


def _line_export(release: Release, fmt: str, iri: str | None) -> bytes:
    """N-Quads / N-Triples straight from the dump's lines, at string speed, with the bytes `rdf_bytes` writes.

    The dump is Oxigraph's N-Quads of the sorted quads (kg.release.nquads_lines), one quad a line with
    the graph name last; a triple's N-Triples line is that line without its graph name, and sorting
    those lines sorts the triples as `merged_triples` does (an IRI holds no space or '>').
    """
    lines = release.dump_path.read_text(encoding="utf-8").splitlines()
    if iri is not None:
        suffix = f" <{iri}> ."
        lines = [line for line in lines if line.endswith(suffix)]
    if fmt == "nq":
        out = list(dict.fromkeys(lines))  # a quad the builder made twice is dumped twice but exported once
    else:
        out = sorted({line[: line.rfind(" <")] + " ." for line in lines})
    return ("\n".join(out) + "\n").encode() if out else b""


def rdf_bytes(items: list[Quad] | list[Triple], fmt: str) -> bytes:
    """Serialize already-sorted quads or triples; the one place that picks the serializer."""
    if fmt == "jsonld":
        return jsonld_bytes(items)  # type: ignore[arg-type]
    rdf_format = EXPORT_FORMATS[fmt]
    if rdf_format in (RdfFormat.TURTLE, RdfFormat.TRIG, RdfFormat.RDF_XML):
        return serialize(items, format=rdf_format, prefixes=TEXT_PREFIXES) or b""
    return serialize(items, format=rdf_format) or b""


def jsonld_bytes(triples: list[Triple], context: dict[str, Any] | None = None) -> bytes:
    """Compacted JSON-LD with the published context inlined (so the file stands alone), canonically ordered."""
    import rdflib

    graph = rdflib.Graph()
    for t in triples:
        graph.add((_rdflib_term(t.subject), _rdflib_term(t.predicate), _rdflib_term(t.object)))
    context = context if context is not None else load_context()
    document = json.loads(graph.serialize(format="json-ld", context=context, auto_compact=False))
    document = _canonical(document)
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _rdflib_term(term: Any) -> Any:
    """pyoxigraph term -> rdflib term, keeping blank-node labels (rdflib's parsers would rename them at random)."""
    import rdflib

    if isinstance(term, NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    if term.datatype.value == v.XSD + "string":
        return rdflib.Literal(term.value)  # a plain string: a bare JSON string, not {"@value", "@type"}
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value), normalize=False)


def _canonical(node: Any, key: str | None = None) -> Any:
    """Sort JSON-LD's unordered arrays (node lists, multi-valued properties); keep @list and @context as they are."""
    if isinstance(node, dict):
        return {k: node[k] if k == "@context" else _canonical(node[k], k) for k in node}
    if isinstance(node, list):
        items = [_canonical(item) for item in node]
        if key == "@list":
            return items
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, ensure_ascii=False))
    return node


def gzip_bytes(data: bytes) -> bytes:
    """Gzip without a timestamp or file name in the header, so equal input gives equal bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def export_folder(release: Release, folder: Path, *, base_url: str | None = None) -> list[Path]:
    """Every format of the whole release, plain and gzipped, plus the VoID description: a dump folder."""
    from kg.dataset_description import DEFAULT_BASE_URL, description_bytes

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    files = {f"evidence-kg.{SUFFIXES[fmt]}": export_bytes(release, fmt) for fmt in EXPORT_FORMATS}
    files = {**files, **{name + ".gz": gzip_bytes(data) for name, data in files.items()}}
    files["void.ttl"] = description_bytes(release, "turtle", base_url=base_url or DEFAULT_BASE_URL)
    for name, data in sorted(files.items()):
        path = folder / name
        write_atomically(path, data)
        written.append(path)
    return written


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
