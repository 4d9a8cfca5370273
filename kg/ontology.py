"""The ontology file as quads of the ontology graph."""

from __future__ import annotations

from pathlib import Path

from pyoxigraph import CanonicalizationAlgorithm, Dataset, Quad, RdfFormat, parse

from kg import paths
from kg import vocabulary as v
from kg.sourcefile import SourceError


def ontology_quads(path: Path | None = None) -> list[Quad]:
    path = path or paths.ONTOLOGY
    if not path.is_file():
        raise SourceError(path, None, "ontology file not found")
    try:
        dataset = Dataset(
            Quad(q.subject, q.predicate, q.object, v.GRAPHS["ontology"])
            for q in parse(path=str(path), format=RdfFormat.TURTLE)
        )
    except SyntaxError as exc:
        raise SourceError(path, None, f"Turtle syntax error: {exc}") from None
    # The parser names blank nodes (OWL restrictions, lists) at random; RDFC-1.0 names them by content,
    # so that two builds of the same sources write byte-identical dumps.
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    return list(dataset)
