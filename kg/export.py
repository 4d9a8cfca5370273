"""Deterministic exports of a release: sorted input to Oxigraph's serializers gives identical bytes."""

from __future__ import annotations

from pyoxigraph import Quad, RdfFormat, parse, serialize

from kg.release import Release
from kg.vocabulary import PREFIXES

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
DATASET_FORMATS = {"nq", "trig"}


def release_quads(release: Release) -> list[Quad]:
    """The release's quads in the stable order they were dumped in."""
    return list(parse(path=str(release.dump_path), format=RdfFormat.N_QUADS))


def export_bytes(release: Release, fmt: str, graph: str | None = None) -> bytes:
    """Serialize the release (or one named graph of it) in `fmt`; triple formats merge the graphs."""
    quads = release_quads(release)
    if graph is not None:
        quads = [q for q in quads if q.graph_name.value == graph]
    rdf_format = EXPORT_FORMATS[fmt]
    if fmt in DATASET_FORMATS:
        items = quads
    else:
        seen = set()
        items = []
        for q in quads:
            t = q.triple
            if t not in seen:
                seen.add(t)
                items.append(t)
        items.sort(key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    prefixes = PREFIXES if rdf_format in (RdfFormat.TURTLE, RdfFormat.TRIG, RdfFormat.RDF_XML) else None
    if prefixes:
        return serialize(items, format=rdf_format, prefixes=prefixes) or b""
    return serialize(items, format=rdf_format) or b""
