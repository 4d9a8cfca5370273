"""SHACL validation in independent batches, across all cores, giving the whole-graph report.

pyshacl stays the validator: each batch is an ordinary pyshacl run (`kg.validation.validate`) over a
smaller graph. The graph is cut along what the review's records own:

- *owned* nodes are the per-study records (`id/study/...`, `id/cohort/...`, measurements,
  comparisons, conflicts). Owned nodes that point at each other (a cohort and its study, a subgroup
  and its parent, a comparison and its two cohorts, a conflict and its two values) are one *unit*;
  a batch is a set of whole units.
- *shared* nodes are the other instance nodes (publications, the review, adverse-event terms);
  every other IRI (ontology terms, controlled individuals, external codes) is *context*.

A unit batch holds the triples of its owned nodes, the triples of the shared nodes they point at
(restricted to objects inside the batch or outside the instance namespace), and all context
triples: the closed neighbourhood every shape in `shapes/` walks from a record. It keeps only the
findings whose focus node it owns. One more batch validates the shared nodes with every shared and
context triple and keeps the findings on non-owned nodes. The shapes must not reach a record from a
shared node by an inverse path; if any shape uses `sh:inversePath`, validation falls back to one
whole-graph run. `tests/test_synth.py` checks that both reports are equal on the review's graph and
on the broken-input corpus.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor

import rdflib
from rdflib.namespace import RDF, SH

from kg import vocabulary as v
from kg.validation import Finding, Report, _short, shapes_graph, validate

OWNED = tuple(f"<{v.ID}{kind}/" for kind in ("study", "cohort", "outcome", "response", "adverse-event", "comparison", "conflict"))
INSTANCE = f"<{v.ID}"
BATCH_TRIPLES = 20_000  # small enough to balance two cores, big enough that per-run set-up stays small
WHOLE_GRAPH_BELOW = 150_000  # under this a single run is faster than starting worker processes


def triple_lines(nquads: Iterable[str]) -> list[str]:
    """N-Quads lines (graph name last) -> distinct N-Triples statements without the final ' .'."""
    return list(dict.fromkeys(line[: line.rfind(" <")] for line in nquads))


def _split(t: str) -> tuple[str, str]:
    """Subject and object of an N-Triples statement (IRIs hold no spaces, so the first two spaces delimit)."""
    first = t.index(" ")
    return t[:first], t[t.index(" ", first + 1) + 1 :]


class _Units:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        root = parent.setdefault(x, x)
        while root != parent[root]:
            root = parent[root]
        while x != root:
            parent[x], x = root, parent[x]
        return root

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def plan(triples: list[str], batch_triples: int = BATCH_TRIPLES) -> tuple[list[tuple[list[str], list[str]]], list[str], list[str]]:
    """Cut the statements into unit batches [(statements, owned focus IRIs)], the shared batch's
    statements, and the owned nodes outside the instance namespace (which the shared batch must not report)."""
    units = _Units()
    by_subject: dict[str, list[str]] = defaultdict(list)
    foreign: list[str] = []
    for t in triples:
        s, o = _split(t)
        if s.startswith(OWNED):
            units.find(s)
            if o.startswith(OWNED):
                units.join(s, o)
            by_subject[s].append(t)
        elif s.startswith(INSTANCE):
            by_subject[s].append(t)
        else:
            foreign.append(t)
    # A node outside the instance namespace that points at a record (a cohort minted with a wrong base
    # IRI, say) belongs to that record's unit, and so does anything that points at it in turn.
    adopted: list[str] = []
    changed = True
    while changed:
        changed = False
        rest = []
        for t in foreign:
            s, o = _split(t)
            o_owned = o.startswith(OWNED) or o in units.parent
            if s in units.parent:
                if o_owned:
                    units.join(s, o)
                by_subject[s].append(t)
            elif o_owned:
                units.join(s, o)
                by_subject[s].append(t)
                adopted.append(s)
                changed = True
            else:
                rest.append(t)
        foreign = rest
    context = foreign
    members: dict[str, list[str]] = defaultdict(list)
    for node in units.parent:
        members[units.find(node)].append(node)

    batches: list[tuple[list[str], list[str]]] = []
    owned: list[str] = []
    size = 0

    def close() -> None:
        nonlocal owned, size
        if owned:
            batches.append((_induced(owned, by_subject, context), owned))
        owned, size = [], 0

    for root in sorted(members):  # sorted: the same graph is always cut the same way
        nodes = sorted(members[root])
        owned += nodes
        size += sum(len(by_subject[n]) for n in nodes)
        if size >= batch_triples:
            close()
    close()
    shared = [t for s, ts in by_subject.items() if s.startswith(INSTANCE) and not s.startswith(OWNED) for t in ts]
    return batches, shared + context, adopted


def _induced(owned: list[str], by_subject: dict[str, list[str]], context: list[str]) -> list[str]:
    inside = set(owned)
    out: list[str] = []
    referenced: set[str] = set()
    for node in owned:
        for t in by_subject[node]:
            out.append(t)
            o = _split(t)[1]
            if o.startswith(INSTANCE) and not o.startswith(OWNED):
                referenced.add(o)
    inside |= referenced
    for node in sorted(referenced):
        for t in by_subject[node]:
            o = _split(t)[1]
            if not o.startswith(INSTANCE) or o in inside:
                out.append(t)
    return out + context


# --- workers ---------------------------------------------------------------------------------

_SHAPES: rdflib.Graph | None = None


def _init(shapes_ttl: str) -> None:
    global _SHAPES
    _SHAPES = rdflib.Graph().parse(data=shapes_ttl, format="turtle")


def _graph(statements: list[str]) -> rdflib.Graph:
    graph = rdflib.Graph(store="Oxigraph")
    if statements:
        graph.parse(data="".join(t + " .\n" for t in statements), format="ox-nt")
    return graph


def _run(statements: list[str], keep_iris: list[str] | None, also_owned: list[str]) -> tuple[list[Finding], str]:
    """Validate one batch; keep findings on `keep_iris` (or, for the shared batch, on nodes no unit owns)."""
    data = _graph(statements)
    report = validate(data, shapes=_SHAPES)
    wanted = set(keep_iris) if keep_iris is not None else None
    foreign_owned = set(also_owned)
    kept_short: set[str] = set()
    kept_results = []
    for result in report.graph.subjects(RDF.type, SH.ValidationResult) if report.graph is not None else []:
        focus = report.graph.value(result, SH.focusNode)
        nt = focus.n3() if focus is not None else ""
        keep = nt in wanted if wanted is not None else not nt.startswith(OWNED) and nt not in foreign_owned
        if keep:
            kept_short.add(_short(data, focus))
            kept_results.append(result)
    findings = [f for f in report.findings if f.focus in kept_short]
    return findings, _results_nt(report.graph, kept_results)


def _results_nt(graph: rdflib.Graph | None, results: list) -> str:  # type: ignore[type-arg]
    """The kept results with everything hanging off them through blank nodes, as N-Triples."""
    out = rdflib.Graph()
    todo, seen = list(results), set()
    while todo:
        node = todo.pop()
        if node in seen or graph is None:
            continue
        seen.add(node)
        for p, o in graph.predicate_objects(node):
            out.add((node, p, o))
            if isinstance(o, rdflib.BNode):
                todo.append(o)
    return out.serialize(format="nt")


def _merged(parts: list[tuple[list[Finding], str]]) -> Report:
    findings = sorted({f for fs, _ in parts for f in fs}, key=lambda f: (f.severity, f.focus, f.path, f.message, f.value))
    conforms = not any(f.severity == "Violation" for f in findings)
    graph = rdflib.Graph()
    graph.bind("sh", SH)
    report = rdflib.BNode()
    graph.add((report, RDF.type, SH.ValidationReport))
    graph.add((report, SH.conforms, rdflib.Literal(conforms)))
    for _, nt in parts:
        part = rdflib.Graph().parse(data=nt, format="nt")
        for result in part.subjects(RDF.type, SH.ValidationResult):
            graph.add((report, SH.result, result))
        for t in part:
            graph.add(t)
    return Report(conforms=conforms, findings=findings, graph=graph)


def _uses_inverse_paths(shapes: rdflib.Graph) -> bool:
    return any(True for _ in shapes.triples((None, SH.inversePath, None)))


def validate_batched(
    nquads: Iterable[str],
    *,
    shapes: rdflib.Graph | None = None,
    workers: int | None = None,
    batch_triples: int = BATCH_TRIPLES,
    whole_graph_below: int = WHOLE_GRAPH_BELOW,
) -> Report:
    """The SHACL report of the union of the graphs in `nquads` (N-Quads lines), computed batch by batch."""
    shapes = shapes if shapes is not None else shapes_graph()
    triples = triple_lines(nquads)
    if len(triples) < whole_graph_below or _uses_inverse_paths(shapes):
        return validate(_graph(triples), shapes=shapes)
    batches, shared, adopted = plan(triples, batch_triples)
    jobs: list[tuple[list[str], list[str] | None, list[str]]] = [(shared, None, adopted), *((b, owned, []) for b, owned in batches)]
    workers = workers or os.cpu_count() or 1
    shapes_ttl = shapes.serialize(format="turtle")
    if workers == 1:
        _init(shapes_ttl)
        parts = [_run(*job) for job in jobs]
    else:
        # fork: workers start in milliseconds and need not re-import `__main__` (spawn would re-run the
        # `kg` command in every worker). They only run pyshacl, no lock a caller's thread may hold.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(shapes_ttl,)) as pool:
            parts = list(pool.map(_run, *zip(*jobs, strict=True)))
    return _merged(parts)
