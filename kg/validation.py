"""The SHACL gate: pyshacl (core constraints) plus Oxigraph (SHACL-SPARQL constraints), shapes from `shapes/`."""

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


def _oxigraph_store(data: rdflib.Graph):  # type: ignore[no-untyped-def]
    """The pyoxigraph Store under an oxrdflib graph, or a new one holding a copy of `data`."""
    from pyoxigraph import Store, parse

    inner = getattr(data.store, "_store", None)
    if isinstance(inner, Store):
        return inner
    store = Store()
    store.bulk_extend(parse(data.serialize(format="nt", encoding="utf-8"), format=RdfFormat.N_TRIPLES))
    return store


def _in_memory(data: rdflib.Graph) -> rdflib.Graph:
    # pyshacl's core constraints make many small triple look-ups: rdflib's memory store is ~30x faster
    # at those than oxrdflib's per-call round trips.
    if type(data.store).__name__ != "OxigraphStore":
        return data
    memory = rdflib.Graph()
    for triple in data:
        memory.add(triple)
    return memory


def validate(data: rdflib.Graph, *, shapes: rdflib.Graph | None = None, reference: bool = False) -> Report:
    """Validate `data` against the project's shapes; return findings sorted for stable output.

    By default pyshacl checks the core constraints and Oxigraph runs the SHACL-SPARQL constraints
    (kg.shacl_sparql); `reference=True` runs everything in pyshacl, the reference the fast path is
    tested against.
    """
    import pyshacl  # slow to import: only when validating

    from kg import shacl_sparql

    shapes = shapes if shapes is not None else shapes_graph()
    memory = _in_memory(data)
    core = shapes if reference else shacl_sparql.sparql_free(shapes)
    conforms, report_graph, _ = pyshacl.validate(
        memory, shacl_graph=core, inference="none", advanced=True, allow_warnings=True, inplace=True
    )
    findings = []
    for result in report_graph.subjects(RDF.type, SH.ValidationResult):
        get = lambda p, r=result: report_graph.value(r, p)  # noqa: E731
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
    if not reference:
        for r in shacl_sparql.evaluate(_oxigraph_store(data), shapes):
            focus, value = _rdflib_term(r.focus_term), _rdflib_term(r.value)
            findings.append(
                Finding(
                    focus=_short(data, focus),
                    path=_short(data, rdflib.URIRef(r.path)) if r.path else "",
                    value=_short(data, value),
                    message=r.message,
                    severity=r.severity,
                    shape=_short(data, rdflib.URIRef(r.shape)) if not r.shape.startswith("_:") else "",
                )
            )
            _add_result(report_graph, r, focus, value)
            if r.severity == "Violation":
                conforms = False
        if any(f.severity == "Violation" for f in findings):
            conforms = False
        report_graph.set((next(iter(report_graph.subjects(RDF.type, SH.ValidationReport))), SH.conforms, rdflib.Literal(bool(conforms))))
    findings.sort(key=lambda f: (f.severity, f.focus, f.path, f.message, f.value))
    return Report(conforms=bool(conforms), findings=findings, graph=report_graph)


def _rdflib_term(term: object) -> rdflib.term.Node:
    from pyoxigraph import BlankNode, Literal, NamedNode

    if isinstance(term, NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    raise TypeError(f"not an RDF term: {term!r}")


def _add_result(report: rdflib.Graph, r, focus: rdflib.term.Node, value: rdflib.term.Node) -> None:  # type: ignore[no-untyped-def]
    """Add a SPARQL-constraint result to the SHACL report graph, as pyshacl would."""
    node = rdflib.BNode()
    report_node = next(iter(report.subjects(RDF.type, SH.ValidationReport)))
    report.add((report_node, SH.result, node))
    report.add((node, RDF.type, SH.ValidationResult))
    report.add((node, SH.focusNode, focus))
    report.add((node, SH.value, value))
    report.add((node, SH.resultMessage, rdflib.Literal(r.message)))
    report.add((node, SH.resultSeverity, SH[r.severity]))
    report.add((node, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
    report.add((node, SH.sourceShape, rdflib.URIRef(r.shape)))
    if r.constraint is not None:
        report.add((node, SH.sourceConstraint, r.constraint))
    if r.path:
        report.add((node, SH.resultPath, rdflib.URIRef(r.path)))
