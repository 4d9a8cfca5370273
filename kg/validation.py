"""The SHACL gate: pyshacl (core constraints) plus Oxigraph (SHACL-SPARQL constraints), shapes from `shapes/`."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import rdflib
from pyoxigraph import Quad, RdfFormat, Triple, serialize
from rdflib.namespace import RDF, SH

from kg import paths
from kg import vocabulary as v

SHAPES_NS = v.BASE + "shapes#"

# rdflib logs a traceback for every ill-typed literal ("abc"^^xsd:decimal) it meets; sh:datatype
# reports those as findings, so the log would only bury the report.
logging.getLogger("rdflib.term").setLevel(logging.ERROR)


class ShapesError(RuntimeError):
    """The shapes themselves are broken: a file does not parse, or pyshacl refuses a constraint."""


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
    files = sorted(folder.glob("*.ttl"))
    if not files:
        raise ShapesError(f"{folder}: no shapes (*.ttl) found")
    graph = rdflib.Graph()
    for path in files:
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # noqa: BLE001 - rdflib raises several kinds; one line names the file
            raise ShapesError(f"{path}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
    return graph


def data_graph(statements: Iterable[Quad | Triple]) -> rdflib.Graph:
    """All named graphs merged into one Oxigraph-backed rdflib graph (what the shapes see)."""
    graph = rdflib.Graph(store="Oxigraph")
    triples = (s.triple if isinstance(s, Quad) else s for s in statements)
    nt = serialize(triples, format=RdfFormat.N_TRIPLES) or b""
    graph.parse(data=nt, format="ox-nt")
    return graph


# Longest namespace first, so ekgid: wins over a shorter prefix of it.
_COMPACT = sorted(
    [(ns, prefix) for prefix, ns in v.PREFIXES.items()] + [(SHAPES_NS, "ekgsh"), (str(SH), "sh")], key=lambda item: -len(item[0])
)


def compact(text: str) -> str:
    """Full IRIs of the project's namespaces shortened to prefixed names (ekg:estimate, ekgid:cohort/x/y)."""
    for namespace, prefix in _COMPACT:
        text = re.sub(re.escape(namespace) + r"([\w./-]+)", lambda m, p=prefix: f"{p}:{m.group(1)}", text)
    return text


def _short(graph: rdflib.Graph, node: object) -> str:
    """A report cell: IRIs as prefixed names, literals as their text, blank nodes as _:id."""
    if node is None:
        return ""
    if isinstance(node, rdflib.URIRef):
        return compact(str(node))
    if isinstance(node, rdflib.BNode):
        return f"_:{node}"
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


class _CountedOnce(rdflib.Graph):
    """A view of an Oxigraph-backed graph that counts its triples once: pyshacl asks `len(graph)` (via
    `graph or ...`) for every result it builds, and each count scans the whole store."""

    _size: int | None = None

    def __len__(self) -> int:
        if self._size is None:
            self._size = super().__len__()
        return self._size


def _on_oxigraph(data: rdflib.Graph) -> rdflib.Graph:
    if type(data.store).__name__ != "OxigraphStore":
        return data
    return _CountedOnce(store=data.store, identifier=data.identifier, namespace_manager=data.namespace_manager)


def _in_memory(store) -> rdflib.Graph:  # type: ignore[no-untyped-def]
    # pyshacl's core constraints make many small triple look-ups: rdflib's memory store is ~30x faster
    # at those than oxrdflib's per-call round trips. Only what the fast path leaves to pyshacl runs here.
    from kg.shacl_core import rdflib_term

    memory = rdflib.Graph()
    for quad in store.quads_for_pattern(None, None, None, None):
        memory.add((rdflib_term(quad.subject), rdflib_term(quad.predicate), rdflib_term(quad.object)))
    return memory


_ALLOWED = {SH.Info, SH.Warning}  # pyshacl with allow_warnings: results of these severities still conform


def _pyshacl(data: rdflib.Graph, shapes: rdflib.Graph) -> tuple[rdflib.Graph, list[Finding]]:
    """pyshacl's report graph and findings for `data` against `shapes`."""
    import pyshacl  # slow to import: only when validating

    _conforms, report_graph, report_text = pyshacl.validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True, inplace=True
    )
    if not isinstance(report_graph, rdflib.Graph):  # pyshacl returns a ValidationFailure for unusable shapes
        raise ShapesError(f"the shapes cannot be run: {str(report_text).strip().splitlines()[-1]}")
    findings = []
    for result in report_graph.subjects(RDF.type, SH.ValidationResult):
        get = lambda p, r=result: report_graph.value(r, p)  # noqa: E731
        severity = get(SH.resultSeverity)
        findings.append(
            Finding(
                focus=_short(data, get(SH.focusNode)),
                path=_short(data, get(SH.resultPath)),
                value=_short(data, get(SH.value)),
                message=compact(str(get(SH.resultMessage) or "")),
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                shape=_short(data, get(SH.sourceShape)) if isinstance(get(SH.sourceShape), rdflib.URIRef) else "",
            )
        )
    return report_graph, findings


def _report_node(report: rdflib.Graph) -> rdflib.term.Node:
    return next(iter(report.subjects(RDF.type, SH.ValidationReport)))


def _finish(report_graph: rdflib.Graph, findings: list[Finding]) -> Report:
    conforms = all(SH[f.severity] in _ALLOWED for f in findings)
    report_graph.set((_report_node(report_graph), SH.conforms, rdflib.Literal(conforms)))
    findings.sort(key=lambda f: (f.severity, f.focus, f.path, f.message, f.value))
    return Report(conforms=conforms, findings=findings, graph=report_graph)


def validate_store(store, *, shapes: rdflib.Graph | None = None) -> Report:  # type: ignore[no-untyped-def]
    """Validate the union of the graphs of a pyoxigraph `store` against the shapes, in Oxigraph.

    The core constraints run as compiled SPARQL (kg.shacl_core), the SHACL-SPARQL constraints once over
    the whole store (kg.shacl_sparql); pyshacl runs only what neither compiles (`Plan.residual`), on an
    in-memory copy. tests/test_validation_paths.py checks the findings equal pyshacl's (`reference=True`).
    """
    from kg import shacl_core, shacl_sparql

    shapes = shapes if shapes is not None else shapes_graph()
    try:
        sparql, left = shacl_sparql.split(shapes)
        plan = shacl_core.compile_shapes(shapes, with_sparql=left)
    except shacl_sparql.UnsupportedConstraint:  # SHACL rules or functions: only pyshacl can run them
        return _finish(*_pyshacl(_in_memory(store), shapes))
    if plan.residual is not None:
        report_graph, findings = _pyshacl(_in_memory(store), plan.residual)
    else:
        report_graph, findings = rdflib.Graph(), []
        report_graph.bind("sh", SH)
        report_graph.add((rdflib.BNode(), RDF.type, SH.ValidationReport))
    for r in shacl_core.evaluate(store, plan):
        focus = shacl_core.rdflib_term(r.focus)
        path = shacl_core.rdflib_term(r.path) if r.path is not None else None
        value = shacl_core.rdflib_term(r.value) if r.value is not None else None
        source = r.source
        findings.append(
            Finding(
                focus=_short(None, focus),
                path=_short(None, path),
                value=_short(None, value),
                message=compact(str(source.message)),
                severity=str(source.severity).rsplit("#", 1)[-1],
                shape=_short(None, source.shape) if isinstance(source.shape, rdflib.URIRef) else "",
            )
        )
        _add_core_result(report_graph, r, focus, path, value)
    for r in shacl_sparql.evaluate(store, shapes, sparql):
        focus, value = _rdflib_term(r.focus_term), _rdflib_term(r.value)
        findings.append(
            Finding(
                focus=_short(None, focus),
                path=_short(None, rdflib.URIRef(r.path)) if r.path else "",
                value=_short(None, value),
                message=compact(r.message),
                severity=r.severity,
                shape=_short(None, rdflib.URIRef(r.shape)) if not r.shape.startswith("_:") else "",
            )
        )
        _add_result(report_graph, r, focus, value)
    return _finish(report_graph, findings)


def validate(data: rdflib.Graph, *, shapes: rdflib.Graph | None = None, reference: bool = False) -> Report:
    """Validate `data` against the project's shapes; return findings sorted for stable output.

    By default the graph is validated in Oxigraph (`validate_store` on the store under `data`, or a copy);
    `reference=True` runs everything in pyshacl, the reference the fast path is tested against: pyshacl
    pre-binds `$this` and runs each SPARQL constraint once per focus node, on the Oxigraph-backed graph
    itself (rdflib's own engine would take minutes on the review).
    """
    shapes = shapes if shapes is not None else shapes_graph()
    if not reference:
        return validate_store(_oxigraph_store(data), shapes=shapes)
    return _finish(*_pyshacl(_on_oxigraph(data), shapes))


def _rdflib_term(term: object) -> rdflib.term.Node:
    from kg.shacl_core import rdflib_term

    return rdflib_term(term)


def _new_result(report: rdflib.Graph, focus: rdflib.term.Node, severity: str, component: rdflib.term.Node, shape: rdflib.term.Node):  # type: ignore[no-untyped-def]
    node = rdflib.BNode()
    report.add((_report_node(report), SH.result, node))
    report.add((node, RDF.type, SH.ValidationResult))
    report.add((node, SH.focusNode, focus))
    report.add((node, SH.resultSeverity, SH[severity] if ":" not in severity else rdflib.URIRef(severity)))
    report.add((node, SH.sourceConstraintComponent, component))
    report.add((node, SH.sourceShape, shape))
    return node


def _add_core_result(report: rdflib.Graph, r, focus, path, value) -> None:  # type: ignore[no-untyped-def]
    """Add a compiled core-constraint result to the SHACL report graph, as pyshacl would."""
    node = _new_result(report, focus, str(r.source.severity), r.source.component, r.source.shape)
    report.add((node, SH.resultMessage, r.source.message))
    if path is not None:
        report.add((node, SH.resultPath, path))
    if value is not None:
        report.add((node, SH.value, value))


def _add_result(report: rdflib.Graph, r, focus: rdflib.term.Node, value: rdflib.term.Node) -> None:  # type: ignore[no-untyped-def]
    """Add a SPARQL-constraint result to the SHACL report graph, as pyshacl would."""
    node = _new_result(report, focus, r.severity, SH.SPARQLConstraintComponent, rdflib.URIRef(r.shape))
    report.add((node, SH.value, value))
    report.add((node, SH.resultMessage, rdflib.Literal(r.message)))
    if r.constraint is not None:
        report.add((node, SH.sourceConstraint, r.constraint))
    if r.path:
        report.add((node, SH.resultPath, rdflib.URIRef(r.path)))
