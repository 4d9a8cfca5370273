"""SHACL-SPARQL constraints (sh:sparql / sh:select on node shapes) evaluated by Oxigraph.

pyshacl runs a SPARQL constraint once per focus node through rdflib's engine: minutes for the review's
graph. Here each constraint runs once over the whole graph in Oxigraph with `$this` as a variable,
and only rows whose `?this` is a focus node of the shape are kept; a constraint with a nested SELECT
falls back to one run per focus node with `$this` substituted (pre-binding, as SHACL defines it).
Results follow pyshacl's conventions (value defaults to the focus node, messages get {?var}
substitution, duplicate rows collapse), and a test checks they equal pyshacl's on the broken corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import rdflib
from pyoxigraph import Literal, NamedNode, Store, Variable
from rdflib.namespace import RDF, RDFS, SH

_SELECT = re.compile(r"\bSELECT\s+((?:DISTINCT|REDUCED)\s+)?", re.IGNORECASE)


class UnsupportedConstraint(ValueError):
    pass


@dataclass(frozen=True)
class SparqlResult:
    focus: str
    focus_term: object = field(compare=False, hash=False)
    path: str | None
    value: object  # a pyoxigraph term
    message: str
    severity: str
    shape: str
    constraint: rdflib.term.Node = field(compare=False, hash=False, default=None)  # type: ignore[assignment]


@dataclass(frozen=True)
class _Constraint:
    shape: rdflib.term.Node
    node: rdflib.term.Node
    select: str
    messages: tuple[str, ...]
    severity: str


def _prefixes(shapes: rdflib.Graph, constraint: rdflib.term.Node) -> str:
    lines = []
    for prefixes in shapes.objects(constraint, SH.prefixes):
        for declaration in shapes.objects(prefixes, SH.declare):
            prefix = shapes.value(declaration, SH.prefix)
            namespace = shapes.value(declaration, SH.namespace)
            if prefix is not None and namespace is not None:
                lines.append(f"PREFIX {prefix}: <{namespace}>")
    return "\n".join(sorted(set(lines)))


def constraints(shapes: rdflib.Graph) -> list[_Constraint]:
    found = []
    for shape, node in shapes.subject_objects(SH.sparql):
        if shapes.value(shape, SH.path) is not None:
            raise UnsupportedConstraint(f"sh:sparql on a property shape ({shape}) is not supported by the fast path")
        if (shapes.value(shape, SH.deactivated) or rdflib.Literal(False)).toPython() is True:
            continue
        if (shapes.value(node, SH.deactivated) or rdflib.Literal(False)).toPython() is True:
            continue
        select = shapes.value(node, SH.select)
        if select is None:
            raise UnsupportedConstraint(f"{shape}: only SELECT-based SPARQL constraints are supported")
        messages = tuple(str(m) for m in shapes.objects(node, SH.message)) or tuple(str(m) for m in shapes.objects(shape, SH.message))
        severity = shapes.value(shape, SH.severity) or SH.Violation
        text = _prefixes(shapes, node) + "\n" + str(select)
        found.append(_Constraint(shape, node, text, messages, str(severity).rsplit("#", 1)[-1]))
    return found


def _targets_query(shapes: rdflib.Graph, shape: rdflib.term.Node) -> str:
    parts = []
    for cls in shapes.objects(shape, SH.targetClass):
        parts.append(f"{{ ?this a/<{RDFS.subClassOf}>* <{cls}> }}")
    if (shape, RDF.type, RDFS.Class) in shapes or (shape, RDF.type, rdflib.OWL.Class) in shapes:
        parts.append(f"{{ ?this a/<{RDFS.subClassOf}>* <{shape}> }}")
    for node in shapes.objects(shape, SH.targetNode):
        parts.append(f"{{ VALUES ?this {{ {node.n3()} }} }}")
    for prop in shapes.objects(shape, SH.targetSubjectsOf):
        parts.append(f"{{ ?this <{prop}> ?o }}")
    for prop in shapes.objects(shape, SH.targetObjectsOf):
        parts.append(f"{{ ?s <{prop}> ?this }}")
    if not parts:
        return ""
    return "SELECT DISTINCT ?this WHERE { " + " UNION ".join(parts) + " }"


def _text(term: object) -> str:
    # str() of the equivalent rdflib term, which pyshacl uses in messages
    if isinstance(term, (NamedNode, Literal)):
        return term.value
    return str(term)


def _format(message: str, bindings: dict[str, object]) -> str:
    for var, val in bindings.items():
        message = re.sub(f"{{[?$]{var}}}", _text(val).replace("\\", "\\\\"), message)
    return message


def _whole_graph_query(select: str) -> str | None:
    """The constraint with `$this` free and projected, or None when it needs per-node pre-binding."""
    if len(_SELECT.findall(select)) != 1 or re.search(r"\bGROUP\s+BY\b|\bSELECT\s+\*", select, re.IGNORECASE):
        return None
    text = select.replace("$this", "?this")
    match = _SELECT.search(text)
    assert match
    head = text[match.end():].lstrip()
    if not head.startswith("?this"):
        text = text[: match.end()] + "?this " + text[match.end():]
    return text


def evaluate(store: Store, shapes: rdflib.Graph) -> list[SparqlResult]:
    """Every result of every SPARQL constraint in `shapes` over the union of `store`'s graphs."""
    results: set[SparqlResult] = set()
    focus_cache: dict[rdflib.term.Node, set] = {}
    for c in constraints(shapes):
        if c.shape not in focus_cache:
            query = _targets_query(shapes, c.shape)
            focus_cache[c.shape] = {s["this"] for s in store.query(query, use_default_graph_as_union=True)} if query else set()
        focus = focus_cache[c.shape]
        if not focus:
            continue
        whole = _whole_graph_query(c.select)
        rows: list[tuple[object, object, list[Variable]]] = []
        if whole is not None:
            solutions = store.query(whole, use_default_graph_as_union=True)
            names = list(solutions.variables)
            rows = [(s["this"], s, names) for s in solutions if s["this"] in focus]
        else:
            for node in sorted(focus, key=str):
                solutions = store.query(c.select, use_default_graph_as_union=True, substitutions={Variable("this"): node})
                names = list(solutions.variables)
                rows += [(node, s, names) for s in solutions]
        for this, solution, names in rows:
            bindings = {v.value: solution[v] for v in names if solution[v] is not None}
            bindings.setdefault("this", this)
            path = bindings.get("path")
            value = bindings.get("value", this)
            for message in c.messages or ("",):
                results.add(
                    SparqlResult(
                        focus=_text(bindings.get("this", this)),
                        focus_term=bindings.get("this", this),
                        path=_text(path) if path is not None else None,
                        value=value,
                        message=_format(message, bindings),
                        severity=c.severity,
                        shape=str(c.shape),
                        constraint=c.node,
                    )
                )
    return sorted(results, key=lambda r: (r.shape, r.focus, r.path or "", r.message, _text(r.value)))


def sparql_free(shapes: rdflib.Graph) -> rdflib.Graph:
    """The shapes without their sh:sparql constraints (those run here, the rest in pyshacl)."""
    core = rdflib.Graph()
    for prefix, ns in shapes.namespaces():
        core.bind(prefix, ns)
    for s, p, o in shapes:
        if p != SH.sparql:
            core.add((s, p, o))
    return core
