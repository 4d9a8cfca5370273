"""The SHACL gate: pyshacl over an Oxigraph-backed rdflib graph (oxrdflib), shapes from `shapes/`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import rdflib
from pyoxigraph import Quad, RdfFormat, serialize
from rdflib.namespace import RDF, SH

from kg import paths


@dataclass(frozen=True)
class Finding:
    focus: str
    path: str
    value: str
    message: str
    severity: str
    shape: str

    def as_dict(self) -> dict[str, str]:
        return self.__dict__.copy()


@dataclass
class Report:
    conforms: bool
    findings: list[Finding] = field(default_factory=list)
    graph: rdflib.Graph | None = None

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "Violation"]

    def to_turtle(self) -> str:
        return self.graph.serialize(format="turtle") if self.graph is not None else ""

    def to_json(self) -> str:
        return json.dumps(
            {"conforms": self.conforms, "results": [f.as_dict() for f in self.findings]}, indent=2, ensure_ascii=False
        )


def shapes_graph(folder: Path | None = None) -> rdflib.Graph:
    folder = folder or paths.SHAPES
    graph = rdflib.Graph()
    for path in sorted(folder.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def data_graph(quads: list[Quad]) -> rdflib.Graph:
    """All named graphs merged into one Oxigraph-backed rdflib graph (what the shapes see)."""
    graph = rdflib.Graph(store="Oxigraph")
    nt = serialize((q.triple for q in quads), format=RdfFormat.N_TRIPLES) or b""
    graph.parse(data=nt, format="ox-nt")
    return graph


def _short(graph: rdflib.Graph, node: object) -> str:
    if node is None:
        return ""
    if isinstance(node, rdflib.URIRef):
        try:
            return graph.namespace_manager.normalizeUri(node)
        except Exception:  # noqa: BLE001 - fall back to the full IRI
            return str(node)
    return str(node)


def validate(data: rdflib.Graph, *, shapes: rdflib.Graph | None = None) -> Report:
    """Validate `data` against the project's shapes; return findings sorted for stable output."""
    import pyshacl  # slow to import: only when validating

    shapes = shapes if shapes is not None else shapes_graph()
    conforms, report_graph, _ = pyshacl.validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True
    )
    findings = []
    for result in report_graph.subjects(RDF.type, SH.ValidationResult):
        get = lambda p: report_graph.value(result, p)  # noqa: E731
        severity = get(SH.resultSeverity)
        findings.append(
            Finding(
                focus=_short(data, get(SH.focusNode)),
                path=_short(data, get(SH.resultPath)),
                value=_short(data, get(SH.value)),
                message=str(get(SH.resultMessage) or ""),
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                shape=_short(data, get(SH.sourceShape)) if isinstance(get(SH.sourceShape), rdflib.URIRef) else "",
            )
        )
    findings.sort(key=lambda f: (f.severity, f.focus, f.path, f.message, f.value))
    return Report(conforms=bool(conforms), findings=findings, graph=report_graph)
