"""SHACL-SPARQL constraints (sh:sparql / sh:select on node shapes) evaluated by Oxigraph.

pyshacl runs a SPARQL constraint once per focus node through rdflib's engine: minutes for the review's
graph. Here each constraint runs once over the whole graph in Oxigraph with `$this` as a variable,
and only rows whose `?this` is a focus node of the shape are kept (checked inside the same query, so
only the constraint's own rows meet a target look-up); a constraint with a nested SELECT falls back
to one run per focus node with `$this` substituted (pre-binding, as SHACL defines it). Constraints
this module cannot run (on a property shape, ASK-based, SPARQL-based targets) are listed by `split`
for pyshacl to run.
Results follow pyshacl's conventions (value defaults to the focus node, messages get {?var}
substitution, duplicate rows collapse), and a test checks they equal pyshacl's on the broken corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import rdflib
from pyoxigraph import Literal, NamedNode, Store, Variable
from rdflib.namespace import SH

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


def _off(shapes: rdflib.Graph, node: rdflib.term.Node) -> bool:
    return (shapes.value(node, SH.deactivated) or rdflib.Literal(False)).toPython() is True


def split(shapes: rdflib.Graph) -> tuple[list[_Constraint], list[tuple[rdflib.term.Node, rdflib.term.Node]]]:
    """The SPARQL constraints this module runs, and the (shape, constraint) pairs left for pyshacl."""
    from kg.shacl_core import targets_of

    found, left = [], []
    for shape, node in sorted(shapes.subject_objects(SH.sparql)):
        if _off(shapes, shape) or _off(shapes, node):
            continue
        select = shapes.value(node, SH.select)
        try:
            targets_of(shapes, shape)
        except UnsupportedConstraint:
            select = None
        if shapes.value(shape, SH.path) is not None or select is None:
            left.append((shape, node))  # on a property shape, ASK-based, or with targets only pyshacl knows
            continue
        messages = tuple(str(m) for m in shapes.objects(node, SH.message)) or tuple(str(m) for m in shapes.objects(shape, SH.message))
        severity = shapes.value(shape, SH.severity) or SH.Violation
        text = _prefixes(shapes, node) + "\n" + str(select)
        found.append(_Constraint(shape, node, text, messages, str(severity).rsplit("#", 1)[-1]))
    return found, left


def constraints(shapes: rdflib.Graph) -> list[_Constraint]:
    return split(shapes)[0]


def _targets_query(shapes: rdflib.Graph, shape: rdflib.term.Node, ctx) -> str:  # type: ignore[no-untyped-def]
    from kg.shacl_core import targets_of

    targets = targets_of(shapes, shape)
    return f"SELECT DISTINCT ?this WHERE {{ {targets.pattern('?this', ctx)} }}" if targets.declared else ""


def _text(term: object) -> str:
    # str() of the equivalent rdflib term, which pyshacl uses in messages
    if isinstance(term, (NamedNode, Literal)):
        return term.value
    return str(term)


def _format(message: str, bindings: dict[str, object]) -> str:
    for var, val in bindings.items():
        message = re.sub(f"{{[?$]{var}}}", _text(val).replace("\\", "\\\\"), message)
    return message


def _whole_graph_query(select: str, focus: str = "") -> str | None:
    """The constraint with `$this` free and projected, or None when it needs per-node pre-binding;
    with `focus` (a pattern binding ?this to the focus nodes) only rows on focus nodes are returned."""
    if len(_SELECT.findall(select)) != 1 or re.search(r"\bGROUP\s+BY\b|\bSELECT\s+\*", select, re.IGNORECASE):
        return None
    text = select.replace("$this", "?this")
    match = _SELECT.search(text)
    assert match
    head = text[match.end():].lstrip()
    if not head.startswith("?this"):
        text = text[: match.end()] + "?this " + text[match.end():]
    if focus:
        prologue, body = text[: match.start()], text[match.start():]
        if re.search(r"\b(PREFIX|BASE)\b", body, re.IGNORECASE):
            return None
        text = f"{prologue}SELECT * WHERE {{ {{ {body} }} FILTER EXISTS {{ {focus} }} }}"
    return text


def evaluate(store: Store, shapes: rdflib.Graph, found: list[_Constraint] | None = None) -> list[SparqlResult]:
    """Every result of the SPARQL constraints `found` (default: those `split` runs) over the union of `store`'s graphs."""
    from kg.shacl_core import Context, targets_of

    results: set[SparqlResult] = set()
    focus_cache: dict[rdflib.term.Node, set] = {}
    ctx = Context(store)
    for c in constraints(shapes) if found is None else found:
        targets = targets_of(shapes, c.shape)
        if not targets.declared:
            continue
        whole = _whole_graph_query(c.select, targets.pattern("?this", ctx))
        rows: list[tuple[object, object, list[Variable]]] = []
        if whole is not None:
            solutions = store.query(whole, use_default_graph_as_union=True)
            names = [v for v in solutions.variables]
            rows = [(s["this"], s, names) for s in solutions]
        else:
            if c.shape not in focus_cache:
                query = _targets_query(shapes, c.shape, ctx)
                focus_cache[c.shape] = {s["this"] for s in store.query(query, use_default_graph_as_union=True)}
            for node in sorted(focus_cache[c.shape], key=str):
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
