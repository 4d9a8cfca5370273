"""SHACL core constraints compiled to SPARQL and run by Oxigraph over the whole store.

pyshacl checks the core constraints one focus node and one value at a time in Python (~85 s for 914k
triples, batched over two cores). Here each check is a query Oxigraph runs once over the whole store (`use_default_graph_as_union`)
and that returns one row per *candidate* violation:

- value checks (sh:datatype, sh:in, sh:nodeKind, sh:pattern, sh:minLength, sh:min/maxInclusive, sh:or, ...)
  scan the triples of one predicate once for every shape that constrains it; a row only costs a target
  look-up when one of its tests fails;
- sh:class, sh:minCount and sh:hasValue are anti-joins (values minus the instances of the class, focus
  nodes minus the subjects that have the property), which Oxigraph hashes instead of looking up each row;
- sh:maxCount groups the triples of one predicate (after a cheap count that usually shows no subject has
  two values); sh:closed and node-level checks walk the focus nodes.

Results are pyshacl's, not merely SHACL's: every SPARQL test is a superset filter (it never passes a value
pyshacl reports), and where the outcome hangs on rdflib's reading of a literal (ill-typed literals, value
comparisons, Python's `re`, rdflib term equality) the few candidates are decided in Python by the rules
pyshacl applies, on the rdflib terms oxrdflib would hand it. `tests/test_shacl_core.py` and
`tests/test_validation_paths.py` compare both on small graphs, the review's graph and the broken corpus.

What this module does not compile (other components, non-IRI paths, shapes without exactly one
sh:message) is left in `Plan.residual`, a shapes graph for pyshacl to run.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox
import rdflib
import rdflib.collection
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from kg.shacl_regex import rust_regex
from kg.shacl_sparql import UnsupportedConstraint

TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
NODE_PARAMS = {
    SH.closed, SH.ignoredProperties, SH.nodeKind, SH.pattern, SH.flags, SH.datatype, SH["class"], SH["in"], SH.hasValue,
    SH.minLength, SH.maxLength, SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive, SH["or"], SH.xone,
    SH.disjoint,
}  # fmt: skip
PROPERTY_PARAMS = (NODE_PARAMS - {SH.closed, SH.ignoredProperties}) | {SH.minCount, SH.maxCount}
RANGES = {SH.minInclusive: ">=", SH.minExclusive: ">", SH.maxInclusive: "<=", SH.maxExclusive: "<"}
COMPONENT = {
    SH.closed: SH.ClosedConstraintComponent, SH.nodeKind: SH.NodeKindConstraintComponent, SH.pattern: SH.PatternConstraintComponent,
    SH.datatype: SH.DatatypeConstraintComponent, SH["class"]: SH.ClassConstraintComponent, SH["in"]: SH.InConstraintComponent,
    SH.hasValue: SH.HasValueConstraintComponent, SH.minLength: SH.MinLengthConstraintComponent,
    SH.maxLength: SH.MaxLengthConstraintComponent, SH.minInclusive: SH.MinInclusiveConstraintComponent,
    SH.maxInclusive: SH.MaxInclusiveConstraintComponent, SH.minExclusive: SH.MinExclusiveConstraintComponent,
    SH.maxExclusive: SH.MaxExclusiveConstraintComponent, SH["or"]: SH.OrConstraintComponent, SH.xone: SH.XoneConstraintComponent,
    SH.disjoint: SH.DisjointConstraintComponent, SH.minCount: SH.MinCountConstraintComponent, SH.maxCount: SH.MaxCountConstraintComponent,
}  # fmt: skip
_NODE_KINDS = {
    SH.IRI: "isIRI({v})", SH.BlankNode: "isBlank({v})", SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "(isBlank({v}) || isIRI({v}))", SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
    SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
}  # fmt: skip
_NUMBERS = f"<{XSD.integer}>, <{XSD.decimal}>"
# Literals of these datatypes that Oxigraph reads as well-typed also have a value in rdflib (Oxigraph keeps
# them in canonical form); every other literal of a datatype under test is decided in Python.
_WELL_TYPED = {
    XSD.string: "true", RDF.langString: "true", XSD.boolean: 'STR({v}) IN ("true", "false")',
    XSD.integer: "isNumeric({v})", XSD.decimal: "isNumeric({v})", XSD.double: "isNumeric({v})", XSD.float: "isNumeric({v})",
}  # fmt: skip


# --- terms ------------------------------------------------------------------------------------------------


def rdflib_term(term: object) -> Node:
    """The rdflib term oxrdflib would give pyshacl for a pyoxigraph term (oxrdflib's own conversion)."""
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    raise UnsupportedConstraint(f"not an RDF term pyshacl reads: {term!r}")


def _ox(term: Node) -> ox.NamedNode | ox.Literal | None:
    """A shapes-graph term as Oxigraph spells it (None for blank nodes: they never equal a data node)."""
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.Literal):
        datatype = ox.NamedNode(str(term.datatype)) if term.datatype else None
        return ox.Literal(str(term), language=term.language, datatype=datatype)
    return None


def _sparql(term: object) -> str:
    return str(term)  # pyoxigraph prints N-Triples syntax, which SPARQL reads


def _iri(node: Node) -> str:
    return f"<{node}>"


# --- Python decisions: pyshacl's own rules, for the few values SPARQL cannot settle -----------------------


def _datatype_fails(value: Node, rule: Node) -> bool:
    """pyshacl's DatatypeConstraintComponent for one value node."""
    from pyshacl.constraints.core.value_constraints import DatatypeConstraintComponent as Component

    if not isinstance(value, rdflib.Literal):
        return True
    if value.datatype == rule:
        return value.ill_typed is True or not Component._assert_actual_datatype(None, value, rule)
    if rule in (RDFS.Literal,) or (rule == RDFS.Datatype and value.datatype):
        return False
    if value.datatype is None and value.language is None and rule == XSD.string:
        return not Component._assert_actual_datatype(None, value, rule)
    if rule == RDF.langString and value.language:
        return not Component._assert_actual_datatype(None, value, rule)
    return True


def _range_fails(value: Node, bound: rdflib.Literal, op: str) -> bool:
    """pyshacl's Min/MaxInclusive/ExclusiveConstraintComponent for one value node."""
    from pyshacl.rdfutil.compare import compare_literal

    if not isinstance(value, rdflib.Literal):
        return True
    if isinstance(bound.value, str) != isinstance(value.value, str):
        return True
    try:
        cmp = compare_literal(value, bound)
    except (TypeError, NotImplementedError):
        return True
    except ArithmeticError:  # NaN against a decimal bound: pyshacl stops with decimal.InvalidOperation; a violation here
        return True
    return not {">=": cmp >= 0, ">": cmp > 0, "<=": cmp <= 0, "<": cmp < 0}[op]


def _as_string(value: Node) -> str:
    from pyshacl.constraints.core.string_based_constraints import StringBasedConstraintBase

    return str(StringBasedConstraintBase.value_node_to_string(value))


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- tests: a SPARQL pre-filter (never misses a violation) and pyshacl's decision -------------------------


class Context:
    """What a query needs from the store while it is written: subclasses, fresh variable names."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self._subclasses: dict[Node, list[str]] = {}
        self._fresh = 0

    def subclasses(self, cls: Node) -> list[str]:
        """`cls` and every class under it by rdfs:subClassOf* in the data (how pyshacl reads sh:class and targets)."""
        if cls not in self._subclasses:
            query = f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS.subClassOf}>* {_iri(cls)} }}"
            found = {_sparql(row["c"]) for row in self.store.query(query, use_default_graph_as_union=True)}
            self._subclasses[cls] = sorted(found | {_iri(cls)})
        return self._subclasses[cls]

    def fresh(self) -> str:
        self._fresh += 1
        return f"?_{self._fresh}"


Atom = Callable[[str, Context], str]  # a SPARQL boolean expression of the value variable that never errs


@dataclass
class Test:
    atoms: list[Atom]
    candidate: Callable[[list[str]], str]  # the SPARQL pre-filter, over the atoms' variables
    decide: Callable[[Node, list[bool]], bool]  # the violation, as pyshacl decides it, from the atoms' values
    exact: bool  # decide() needs nothing but the atoms
    passes: Callable[[str, Context], str] | None = None  # a pattern the value matches iff it passes (sh:class)


def _simple(atom: Atom, fails: Callable[[Node], bool] | None = None) -> Test:
    if fails is None:
        return Test([atom], lambda a: a[0], lambda _v, b: b[0], exact=True)
    return Test([atom], lambda a: a[0], lambda v, b: b[0] and fails(v), exact=False)


def _parts(tests: Sequence[Test]) -> list[tuple[Test, slice]]:
    out, start = [], 0
    for t in tests:
        out.append((t, slice(start, start + len(t.atoms))))
        start += len(t.atoms)
    return out


def _any_fails(tests: Sequence[Test]) -> Test:
    """A shape's conformance: it fails when one of its components fails."""
    parts = _parts(tests)
    return Test(
        [a for t in tests for a in t.atoms],
        lambda n: "(" + " || ".join([t.candidate(n[s]) for t, s in parts] or ["false"]) + ")",
        lambda v, b: any(t.decide(v, b[s]) for t, s in parts),
        exact=all(t.exact for t in tests),
    )


def _or(tests: Sequence[Test]) -> Test:
    parts = _parts(tests)
    return Test(
        [a for t in tests for a in t.atoms],
        lambda n: "(" + " && ".join(t.candidate(n[s]) for t, s in parts) + ")",
        lambda v, b: all(t.decide(v, b[s]) for t, s in parts),
        exact=all(t.exact for t in tests),
    )


def _xone(tests: Sequence[Test]) -> Test:
    parts = _parts(tests)
    exact = all(t.exact for t in tests)

    def candidate(n: list[str]) -> str:
        if not exact:
            return "true"  # how many members pass is only known in Python
        return "((" + " + ".join(f"IF({t.candidate(n[s])}, 0, 1)" for t, s in parts) + ") != 1)"

    return Test(
        [a for t in tests for a in t.atoms], candidate, lambda v, b: sum(not t.decide(v, b[s]) for t, s in parts) != 1, exact=exact
    )


# --- the plan ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a result comes from, as pyshacl reports it."""

    shape: Node
    component: Node
    message: rdflib.Literal
    severity: Node
    rule: Node | None = None  # which of several values of the parameter (several sh:pattern, sh:minInclusive)


@dataclass(frozen=True)
class Targets:
    classes: tuple[Node, ...] = ()
    nodes: tuple[Node, ...] = ()
    subjects_of: tuple[Node, ...] = ()
    objects_of: tuple[Node, ...] = ()

    @property
    def declared(self) -> bool:
        return bool(self.classes or self.nodes or self.subjects_of or self.objects_of)

    def pattern(self, var: str, ctx: Context) -> str:
        """A graph pattern binding `var` to every focus node (with repeats)."""
        parts = []
        if self.classes:
            t = ctx.fresh()
            classes = sorted({c for cls in self.classes for c in ctx.subclasses(cls)})
            parts.append(f"{var} <{RDF.type}> {t} . VALUES {t} {{ {' '.join(classes)} }}")
        if self.nodes:
            parts.append(f"VALUES {var} {{ {' '.join(_sparql(_ox(n)) for n in self.nodes)} }}")
        for p in self.subjects_of:
            parts.append(f"{var} {_iri(p)} {ctx.fresh()}")
        for p in self.objects_of:
            parts.append(f"{ctx.fresh()} {_iri(p)} {var}")
        return " UNION ".join(f"{{ {p} }}" for p in parts) if len(parts) > 1 else parts[0] if parts else "FILTER(false)"


@dataclass
class ValueCheck:  # every value of `path` at a focus node passes `test`
    path: Node
    targets: Targets
    test: Test
    source: Source


@dataclass
class NodeCheck:  # the focus node itself passes `test`
    targets: Targets
    test: Test
    source: Source
    value_is_focus: bool = True  # sh:hasValue reports no value


@dataclass
class CountCheck:  # sh:minCount, sh:maxCount, sh:hasValue on a property
    path: Node
    targets: Targets
    source: Source
    min: int = 0
    max: int | None = None
    has_value: Node | None = None


@dataclass
class DisjointCheck:
    path: Node
    other: Node
    targets: Targets
    source: Source


@dataclass
class ClosedCheck:
    targets: Targets
    allowed: frozenset[Node]
    source: Source


@dataclass
class Plan:
    values: list[ValueCheck] = field(default_factory=list)
    nodes: list[NodeCheck] = field(default_factory=list)
    counts: list[CountCheck] = field(default_factory=list)
    disjoint: list[DisjointCheck] = field(default_factory=list)
    closed: list[ClosedCheck] = field(default_factory=list)
    residual: rdflib.Graph | None = None  # what pyshacl still has to check (None: nothing)
    unsupported: list[str] = field(default_factory=list)  # why each part of `residual` is there

    def __len__(self) -> int:
        return len(self.values) + len(self.nodes) + len(self.counts) + len(self.disjoint) + len(self.closed)


@dataclass(frozen=True)
class CoreResult:
    focus: object  # pyoxigraph terms
    path: object | None
    value: object | None
    source: Source


# --- compiling the shapes graph ---------------------------------------------------------------------------


def _all_params() -> set[Node]:
    from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS

    return set(ALL_CONSTRAINT_PARAMETERS) | {SH.expression, SH.js, SH.ignoredProperties}


class _Compiler:
    def __init__(self, shapes: rdflib.Graph) -> None:
        self.g = shapes
        self.params = _all_params()

    def one(self, node: Node, p: Node) -> Node | None:
        values = list(self.g.objects(node, p))
        if len(values) > 1:
            raise UnsupportedConstraint(f"{node}: more than one {p}")
        return values[0] if values else None

    def flag(self, node: Node, p: Node) -> bool:
        value = self.one(node, p)
        if value is None:
            return False
        if not isinstance(value, rdflib.Literal):
            raise UnsupportedConstraint(f"{node}: {p} is not a literal")
        return bool(value.value)

    def integer(self, node: Node, p: Node) -> int | None:
        value = self.one(node, p)
        if value is None:
            return None
        if not isinstance(value, rdflib.Literal) or not isinstance(value.value, int) or isinstance(value.value, bool):
            raise UnsupportedConstraint(f"{node}: {p} is not an integer")
        return value.value

    def items(self, node: Node) -> list[Node]:
        try:
            return list(self.g.items(node))
        except Exception:  # noqa: BLE001 - a broken list: let pyshacl say what is wrong
            raise UnsupportedConstraint(f"{node}: not a well-formed RDF list") from None

    def source(self, shape: Node, param: Node, rule: Node | None = None) -> Source:
        messages = list(self.g.objects(shape, SH.message))
        if len(messages) != 1 or not isinstance(messages[0], rdflib.Literal):
            # pyshacl writes its own message without one, and several results' messages with several
            raise UnsupportedConstraint(f"{shape}: compiled constraints need exactly one sh:message")
        severity = self.one(shape, SH.severity) or SH.Violation
        return Source(shape, COMPONENT[param], messages[0], severity, rule)

    def constraint_params(self, shape: Node) -> set[Node]:
        return {p for p in self.g.predicates(shape) if p in self.params}

    # value tests ---------------------------------------------------------------------------------------

    def value_tests(self, shape: Node, params: set[Node]) -> list[tuple[Node, Node | None, Test]]:
        """(parameter, rule, test) for each value-level component of `shape` (each gives its own results in
        pyshacl; `rule` tells apart several values of one parameter, e.g. two sh:pattern)."""
        compilers = {
            SH.datatype: self._datatype, SH.nodeKind: self._node_kind, SH["in"]: self._in, SH["class"]: self._class,
            SH.pattern: self._pattern, SH.minLength: self._length, SH.maxLength: self._length, SH.hasValue: self._has_value,
            SH.disjoint: self._disjoint, SH["or"]: self._logical, SH.xone: self._logical,
            **dict.fromkeys(RANGES, self._range),
        }  # fmt: skip
        out = []
        for param, compile_one in compilers.items():
            if param in params:
                out += [(param, rule, test) for rule, test in compile_one(shape, param)]
        return out

    def _datatype(self, shape: Node, _param: Node) -> list[tuple[Node | None, Test]]:
        rule = self.one(shape, SH.datatype)
        if rule in (RDFS.Literal, RDFS.Datatype):
            atom: Atom = lambda v, _c: "true"  # noqa: E731 - pyshacl's special cases: decided in Python
        else:
            ok = _WELL_TYPED.get(rule, "false")  # type: ignore[arg-type]
            atom = lambda v, _c: f"COALESCE(!(isLiteral({v}) && DATATYPE({v}) = {_iri(rule)} && {ok.format(v=v)}), true)"  # noqa: E731
        return [(None, _simple(atom, lambda value: _datatype_fails(value, rule)))]

    def _node_kind(self, shape: Node, _param: Node) -> list[tuple[Node | None, Test]]:
        kind = self.one(shape, SH.nodeKind)
        if kind not in _NODE_KINDS:
            raise UnsupportedConstraint(f"{shape}: sh:nodeKind {kind}")
        return [(None, _simple(lambda v, _c: f"!{_NODE_KINDS[kind].format(v=v)}"))]

    def _in(self, shape: Node, _param: Node) -> list[tuple[Node | None, Test]]:
        allowed = set(self.items(self.one(shape, SH["in"])))
        # The terms Oxigraph can hold that rdflib (pyshacl's `value in list`) takes for a member: a plain
        # "x" in the shapes is not one of them, Oxigraph's "x"^^xsd:string is a different rdflib term.
        forms = [_sparql(f) for f in (_ox(i) for i in allowed) if f is not None and rdflib_term(f) in allowed]
        if forms:
            atom: Atom = lambda v, _c: "!(" + " || ".join(f"sameTerm({v}, {f})" for f in forms) + ")"  # noqa: E731
        else:
            atom = lambda v, _c: "true"  # noqa: E731
        return [(None, _simple(atom, lambda value: value not in allowed))]

    def _class(self, shape: Node, _param: Node) -> list[tuple[Node | None, Test]]:
        out = []
        for cls in self.g.objects(shape, SH["class"]):

            def typed(v: str, c: Context, cls: Node = cls) -> str:
                t = c.fresh()
                return f"{v} <{RDF.type}> {t} . VALUES {t} {{ {' '.join(c.subclasses(cls))} }}"

            test = _simple(lambda v, c, typed=typed: f"NOT EXISTS {{ {typed(v, c)} }}")
            test.passes = typed  # on its own, sh:class is an anti-join: a hash join, not a look-up per value
            out.append((cls, test))
        return out

    def _pattern(self, shape: Node, _param: Node) -> list[tuple[Node | None, Test]]:
        flags_text = str(self.one(shape, SH.flags) or "").lower()  # pyshacl reads only i and m
        flags = (re.IGNORECASE if "i" in flags_text else 0) | (re.MULTILINE if "m" in flags_text else 0)
        out = []
        for pattern in self.g.objects(shape, SH.pattern):
            if not isinstance(pattern, rdflib.Literal):
                raise UnsupportedConstraint(f"{shape}: sh:pattern is not a literal")
            try:
                compiled = re.compile(str(pattern), flags)
            except re.error:
                raise UnsupportedConstraint(f"{shape}: sh:pattern {pattern} is not a Python regex") from None
            rust = rust_regex(str(pattern), flags)
            if rust is None:
                atom: Atom = lambda v, _c: "true"  # noqa: E731 - every value is decided in Python
            else:
                atom = lambda v, _c, r=_literal(rust): f"COALESCE(!REGEX(STR({v}), {r}), true)"  # noqa: E731

            def fails(value: Node, rx: re.Pattern = compiled) -> bool:
                return isinstance(value, rdflib.BNode) or not rx.search(_as_string(value))

            out.append((pattern, _simple(atom, fails)))
        return out

    def _length(self, shape: Node, param: Node) -> list[tuple[Node | None, Test]]:
        length = self.integer(shape, param)
        assert length is not None
        op = "<" if param == SH.minLength else ">"
        if op == "<" and length == 0:
            return []  # pyshacl: a minimum length of zero always passes, blank nodes too

        def fails(value: Node) -> bool:
            if isinstance(value, rdflib.BNode):
                return True
            size = len(_as_string(value))
            return size < length if op == "<" else size > length

        return [(None, _simple(lambda v, _c: f"COALESCE(isBlank({v}) || STRLEN(STR({v})) {op} {length}, true)", fails))]

    def _range(self, shape: Node, param: Node) -> list[tuple[Node | None, Test]]:
        op, out = RANGES[param], []
        for bound in self.g.objects(shape, param):
            if not isinstance(bound, rdflib.Literal):
                raise UnsupportedConstraint(f"{shape}: {param} is not a literal")
            if bound.datatype in (XSD.integer, XSD.decimal) and not bound.ill_typed:
                # Numbers Oxigraph holds as integers or decimals compare alike in rdflib; the rest goes to Python.
                b = _sparql(_ox(bound))
                atom: Atom = lambda v, _c, b=b: f"!COALESCE(isNumeric({v}) && DATATYPE({v}) IN ({_NUMBERS}) && {v} {op} {b}, false)"  # noqa: E731
            else:
                atom = lambda v, _c: "true"  # noqa: E731
            out.append((bound, _simple(atom, lambda value, bound=bound: _range_fails(value, bound, op))))
        return out

    def _has_value(self, shape: Node, _param: Node) -> list[tuple[Node | None, Test]]:
        """At node level: the focus node is the one value (on a property it is a CountCheck)."""
        expected = self.one(shape, SH.hasValue)
        form = _ox(expected)
        same = _sparql(form) if form is not None and rdflib_term(form) == expected else None
        atom: Atom = (lambda v, _c: f"!sameTerm({v}, {same})") if same else (lambda v, _c: "true")
        return [(None, _simple(atom, lambda value: not value == expected))]

    def _disjoint(self, shape: Node, _param: Node) -> list[tuple[Node | None, Test]]:
        """At node level: the focus node is among its own values of the other property."""
        out = []
        for other in self.g.objects(shape, SH.disjoint):
            if not isinstance(other, rdflib.URIRef):
                raise UnsupportedConstraint(f"{shape}: sh:disjoint with a path")
            out.append((other, _simple(lambda v, _c, o=_iri(other): f"EXISTS {{ {v} {o} {v} }}")))
        return out

    def _logical(self, shape: Node, param: Node) -> list[tuple[Node | None, Test]]:
        combine = _or if param == SH["or"] else _xone
        return [(members, combine([self.member(m) for m in self.items(members)])) for members in self.g.objects(shape, param)]

    def member(self, shape: Node, depth: int = 0) -> Test:
        """A member of sh:or / sh:xone: does the value node conform to `shape`?"""
        if depth > 8:
            raise UnsupportedConstraint(f"{shape}: shapes nested too deep")
        if self.flag(shape, SH.deactivated):
            return Test([], lambda _n: "false", lambda _v, _b: False, exact=True)  # pyshacl: a deactivated shape conforms
        params = self.constraint_params(shape)
        path = self.one(shape, SH.path)
        if path is not None:
            return self.member_property(shape, path, params)
        tests = []
        if SH.property in params:
            params = params - {SH.property}
            for prop in self.g.objects(shape, SH.property):
                tests.append(self.member(prop, depth + 1))
        if params - (NODE_PARAMS - {SH.closed, SH.ignoredProperties}):
            raise UnsupportedConstraint(f"{shape}: {sorted(params)} inside sh:or/sh:xone")
        tests += [t for _p, _r, t in self.value_tests(shape, params)]
        return _any_fails(tests)

    def member_property(self, shape: Node, path: Node, params: set[Node]) -> Test:
        if not isinstance(path, rdflib.URIRef) or params - {SH.minCount, SH.maxCount}:
            raise UnsupportedConstraint(f"{shape}: only counts of an IRI path inside sh:or/sh:xone")
        tests, p = [], _iri(path)
        low, high = self.integer(shape, SH.minCount) or 0, self.integer(shape, SH.maxCount)
        if low > 1 or (high is not None and high > 1):
            raise UnsupportedConstraint(f"{shape}: counts above one inside sh:or/sh:xone")
        if low == 1:
            tests.append(_simple(lambda v, c: f"NOT EXISTS {{ {v} {p} {c.fresh()} }}"))
        if high == 0:
            tests.append(_simple(lambda v, c: f"EXISTS {{ {v} {p} {c.fresh()} }}"))
        if high == 1:

            def two(v: str, c: Context) -> str:
                a, b = c.fresh(), c.fresh()
                return f"EXISTS {{ {v} {p} {a} , {b} . FILTER(!sameTerm({a}, {b})) }}"

            tests.append(_simple(two))
        return _any_fails(tests)

    # shapes with targets -------------------------------------------------------------------------------

    def targets(self, shape: Node) -> Targets:
        if (shape, SH.target, None) in self.g:
            raise UnsupportedConstraint(f"{shape}: SPARQL-based targets (sh:target)")
        classes = list(self.g.objects(shape, SH.targetClass))
        class_types = {RDFS.Class} | set(self.g.subjects(RDFS.subClassOf, RDFS.Class))
        if any(t in class_types for t in self.g.objects(shape, RDF.type)):
            classes.append(shape)  # an implicit class target (pyshacl reads the shapes graph for it)
        nodes = tuple(self.g.objects(shape, SH.targetNode))
        if any(_ox(n) is None for n in nodes):
            raise UnsupportedConstraint(f"{shape}: a blank node as sh:targetNode")
        of = [tuple(self.g.objects(shape, p)) for p in (SH.targetSubjectsOf, SH.targetObjectsOf)]
        if any(not isinstance(p, rdflib.URIRef) for p in of[0] + of[1]):
            raise UnsupportedConstraint(f"{shape}: a target predicate that is not an IRI")
        return Targets(tuple(sorted(set(classes))), tuple(sorted(nodes)), tuple(sorted(of[0])), tuple(sorted(of[1])))

    def node_level(self, plan: Plan, shape: Node, targets: Targets, params: set[Node]) -> None:
        params = params - {SH.property, SH.sparql}
        if not params:
            return
        if params - NODE_PARAMS:
            raise UnsupportedConstraint(f"{shape}: {sorted(str(p) for p in params - NODE_PARAMS)}")
        if SH.closed in params and self.flag(shape, SH.closed):
            allowed = set()
            for ignored in self.g.objects(shape, SH.ignoredProperties):
                allowed |= {i for i in self.items(ignored) if isinstance(i, rdflib.URIRef)}
            for prop in self.g.objects(shape, SH.property):
                path = self.one(prop, SH.path)
                if isinstance(path, rdflib.URIRef):
                    allowed.add(path)
            plan.closed.append(ClosedCheck(targets, frozenset(allowed), self.source(shape, SH.closed)))
        elif SH.ignoredProperties in params and SH.closed not in params:
            raise UnsupportedConstraint(f"{shape}: sh:ignoredProperties without sh:closed")
        for param, rule, test in self.value_tests(shape, params):
            plan.nodes.append(NodeCheck(targets, test, self.source(shape, param, rule), value_is_focus=param != SH.hasValue))

    def property_level(self, plan: Plan, prop: Node, targets: Targets) -> None:
        if self.flag(prop, SH.deactivated):
            return
        params = self.constraint_params(prop)
        path = self.one(prop, SH.path)
        if not isinstance(path, rdflib.URIRef):
            raise UnsupportedConstraint(f"{prop}: a property path that is not an IRI")
        if params - PROPERTY_PARAMS:
            raise UnsupportedConstraint(f"{prop}: {sorted(str(p) for p in params - PROPERTY_PARAMS)}")
        checks: list[object] = []
        low, high = self.integer(prop, SH.minCount), self.integer(prop, SH.maxCount)
        if low:
            checks.append(CountCheck(path, targets, self.source(prop, SH.minCount), min=low))
        if high is not None:
            checks.append(CountCheck(path, targets, self.source(prop, SH.maxCount), max=high))
        for expected in self.g.objects(prop, SH.hasValue):
            checks.append(CountCheck(path, targets, self.source(prop, SH.hasValue, expected), has_value=expected))
        for other in self.g.objects(prop, SH.disjoint):
            if not isinstance(other, rdflib.URIRef):
                raise UnsupportedConstraint(f"{prop}: sh:disjoint with a path")
            checks.append(DisjointCheck(path, other, targets, self.source(prop, SH.disjoint, other)))
        for param, rule, test in self.value_tests(prop, params - {SH.hasValue, SH.disjoint}):
            checks.append(ValueCheck(path, targets, test, self.source(prop, param, rule)))
        for check in checks:  # all or nothing: a property shape goes to pyshacl whole
            {CountCheck: plan.counts, DisjointCheck: plan.disjoint, ValueCheck: plan.values}[type(check)].append(check)  # type: ignore[index]

    def shapes_with_targets(self) -> list[Node]:
        """Every node pyshacl takes for a shape (it checks those with targets, explicit or implicit)."""
        g = self.g
        shapes = {s for p in (*TARGETS, SH.target, SH.property, SH.node) for s in g.subjects(p, None)}
        shapes |= set(g.subjects(RDF.type, SH.NodeShape)) | set(g.subjects(RDF.type, SH.PropertyShape))
        shapes |= {o for p in (SH.property, SH.node, SH["not"], SH.qualifiedValueShape) for o in g.objects(None, p)}
        for p in (SH["and"], SH["or"], SH.xone):
            for members in g.objects(None, p):
                shapes |= set(self.items(members)) if isinstance(members, rdflib.BNode) else set()
        return sorted(shapes, key=str)


class _Residual:
    """The shapes graph pyshacl still runs: the units that were not compiled, with the shapes they hang on."""

    SHAPE_LINKS = {SH.property, SH.node, SH["not"], SH.qualifiedValueShape, SH.prefixes, SH.declare, SH.sparql, SH.target}

    def __init__(self, shapes: rdflib.Graph) -> None:
        self.shapes = shapes
        self.graph = rdflib.Graph()
        for prefix, ns in shapes.namespaces():
            self.graph.bind(prefix, ns)
        self.reasons: list[str] = []

    def _copy(self, node: Node, seen: set[Node]) -> None:
        if node in seen:
            return
        seen.add(node)
        for p, o in self.shapes.predicate_objects(node):
            if p in TARGETS or p == SH.target or (p == RDF.type and o == RDFS.Class):
                continue  # a shape reached from another one is checked there, not on its own targets
            self.graph.add((node, p, o))
            if isinstance(o, rdflib.BNode) or (p in self.SHAPE_LINKS and isinstance(o, rdflib.URIRef)):
                self._copy(o, seen)
            elif p == RDF.first and isinstance(o, rdflib.URIRef) and (o, None, None) in self.shapes:
                self._copy(o, seen)  # a named shape in an sh:or / sh:and / sh:xone list

    def add(self, root: Node, triples: Iterable[tuple[Node, Node, Node]], reason: str) -> None:
        """Run the `triples` of `root` (and what they point at) in pyshacl, on `root`'s own targets."""
        self.reasons.append(reason)
        g = self.shapes
        for p in (*TARGETS, SH.target, RDF.type, SH.deactivated, SH.message, SH.severity):
            for o in g.objects(root, p):
                self.graph.add((root, p, o))
                if p == SH.target:
                    self._copy(o, set())
        seen: set[Node] = {root}
        for s, p, o in triples:
            self.graph.add((s, p, o))
            if isinstance(o, rdflib.BNode) or p in self.SHAPE_LINKS:
                self._copy(o, seen)
            if p in (SH["or"], SH["and"], SH.xone, SH["in"], SH.ignoredProperties):
                self._copy(o, seen)


def compile_shapes(shapes: rdflib.Graph, *, with_sparql: Iterable[tuple[Node, Node]] = ()) -> Plan:
    """The core constraints of `shapes` as checks for `evaluate`; what cannot be compiled, and the SHACL-SPARQL
    constraints listed in `with_sparql` (shape, constraint), go to `Plan.residual` for pyshacl."""
    c = _Compiler(shapes)
    plan = Plan()
    residual = _Residual(shapes)
    if (None, SH.rule, None) in shapes or (None, RDF.type, SH.SPARQLFunction) in shapes:
        raise UnsupportedConstraint("SHACL rules or functions change what is validated: pyshacl must run the whole graph")
    for shape in c.shapes_with_targets():
        try:
            if c.flag(shape, SH.deactivated):
                continue
            targets = c.targets(shape)
        except UnsupportedConstraint as exc:
            residual.add(shape, _without_sparql(shapes, shape), str(exc))
            continue
        if not targets.declared:
            continue
        params = c.constraint_params(shape)
        if (shape, SH.path, None) in shapes:  # a property shape with targets of its own
            try:
                part = Plan()
                c.property_level(part, shape, targets)
                _merge(plan, part)
            except UnsupportedConstraint as exc:
                residual.add(shape, _without_sparql(shapes, shape), str(exc))
            continue
        try:
            part = Plan()
            c.node_level(part, shape, targets, params)
            _merge(plan, part)
        except UnsupportedConstraint as exc:
            node_params = c.params - {SH.property, SH.sparql}
            node_triples = [(shape, p, o) for p, o in shapes.predicate_objects(shape) if p in node_params]
            node_triples += [(shape, SH.flags, o) for o in shapes.objects(shape, SH.flags)]
            paths = [path for prop in shapes.objects(shape, SH.property) for path in shapes.objects(prop, SH.path)]
            if paths and (shape, SH.closed, None) in shapes:  # its property shapes stay compiled: name their paths
                node_triples.append((shape, SH.ignoredProperties, rdflib.collection.Collection(residual.graph, rdflib.BNode(), paths).uri))
            residual.add(shape, node_triples, str(exc))
        for prop in shapes.objects(shape, SH.property):
            try:
                part = Plan()
                c.property_level(part, prop, targets)
                _merge(plan, part)
            except UnsupportedConstraint as exc:
                residual.add(shape, [(shape, SH.property, prop)], str(exc))
    for shape, constraint in with_sparql:
        residual.add(shape, [(shape, SH.sparql, constraint)], f"{shape}: a SPARQL constraint Oxigraph cannot run whole")
    if residual.reasons:
        plan.residual, plan.unsupported = residual.graph, residual.reasons
    return plan


def targets_of(shapes: rdflib.Graph, shape: Node) -> Targets:
    """The focus nodes `shape` declares, read as pyshacl reads them (UnsupportedConstraint: sh:target)."""
    return _Compiler(shapes).targets(shape)


def _without_sparql(shapes: rdflib.Graph, shape: Node) -> list[tuple[Node, Node, Node]]:
    return [(shape, p, o) for p, o in shapes.predicate_objects(shape) if p != SH.sparql]  # kg.shacl_sparql runs those


def _merge(plan: Plan, part: Plan) -> None:
    plan.values += part.values
    plan.nodes += part.nodes
    plan.counts += part.counts
    plan.disjoint += part.disjoint
    plan.closed += part.closed


# --- running the plan -------------------------------------------------------------------------------------


def _true(term: object) -> bool:
    return isinstance(term, ox.Literal) and term.value == "true"


class _Run:
    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.ctx = Context(store)
        self.results: dict[tuple, CoreResult] = {}

    def query(self, text: str) -> ox.QuerySolutions:
        return self.store.query(text, use_default_graph_as_union=True)  # type: ignore[return-value]

    def report(self, focus: object, path: object | None, value: object | None, source: Source) -> None:
        self.results.setdefault((source, focus, path, value), CoreResult(focus, path, value, source))

    def target_hits(self, targets: list[Targets], candidates: list[str], var: str = "?this") -> list[str]:
        """BINDs of ?h<i>: is `var` a focus node of targets[i]? (looked up only when candidates[i] holds)"""
        binds = []
        for i, (t, cand) in enumerate(zip(targets, candidates, strict=True)):
            binds.append(f"BIND(IF({cand}, EXISTS {{ {t.pattern(var, self.ctx)} }}, false) AS ?h{i})")
        return binds

    def _atoms(self, tests: list[Test], var: str) -> tuple[list[list[str]], dict[str, str], str]:
        """Each test's atom variables, the BIND of each distinct atom, and the pre-filter (any candidate)."""
        names: list[list[str]] = []
        binds: dict[str, str] = {}  # expression -> variable: the same atom in several shapes is computed once
        inline = []
        for test in tests:
            exprs = [atom(var, self.ctx) for atom in test.atoms]
            names.append([binds.setdefault(e, f"?a{len(binds)}") for e in exprs])
            inline.append(test.candidate([f"({e})" for e in exprs]))
        return names, binds, " || ".join(dict.fromkeys(inline)) or "false"

    def values(self, checks: list[ValueCheck]) -> None:
        """One scan of each predicate for every value test on it: a pre-filter drops the values that pass
        every test; only the rest get their atoms bound and their subject looked up among focus nodes."""
        by_path: dict[Node, list[ValueCheck]] = defaultdict(list)
        for check in checks:
            if check.test.passes is not None:
                self.anti_join(check)
            else:
                by_path[check.path].append(check)
        for path, group in by_path.items():
            names, binds, prefilter = self._atoms([c.test for c in group], "?v")
            candidates = [c.test.candidate(n) for c, n in zip(group, names, strict=True)]
            target_sets = sorted({c.targets for c in group}, key=repr)
            index = {t: k for k, t in enumerate(target_sets)}
            per_target = [" || ".join(candidates[i] for i, c in enumerate(group) if c.targets == t) for t in target_sets]
            hits = self.target_hits(target_sets, [f"({c})" for c in per_target])
            h = [f"?h{k}" for k in range(len(target_sets))]
            text = (
                f"SELECT ?this ?v {' '.join(binds.values())} {' '.join(h)} WHERE {{ "
                f"{{ SELECT DISTINCT ?this ?v WHERE {{ ?this {_iri(path)} ?v . FILTER({prefilter}) }} }} "
                f"{' '.join(f'BIND({e} AS {n})' for e, n in binds.items())} {' '.join(hits)} FILTER({' || '.join(h)}) }}"
            )
            for row in self.query(text):
                value = rdflib_term(row["v"])
                for check, n in zip(group, names, strict=True):
                    if _true(row[f"h{index[check.targets]}"]) and check.test.decide(value, [_true(row[a[1:]]) for a in n]):
                        self.report(row["this"], ox.NamedNode(str(path)), row["v"], check.source)

    def anti_join(self, check: ValueCheck) -> None:
        assert check.test.passes is not None
        text = (
            f"SELECT ?this ?v WHERE {{ {{ SELECT DISTINCT ?this ?v WHERE {{ {{ ?this {_iri(check.path)} ?v }} "
            f"MINUS {{ {check.test.passes('?v', self.ctx)} }} }} }} FILTER EXISTS {{ {check.targets.pattern('?this', self.ctx)} }} }}"
        )
        for row in self.query(text):
            self.report(row["this"], ox.NamedNode(str(check.path)), row["v"], check.source)

    def nodes(self, checks: list[NodeCheck]) -> None:
        """One walk over the focus nodes of each target declaration for the node-level tests."""
        by_targets: dict[Targets, list[NodeCheck]] = defaultdict(list)
        for check in checks:
            by_targets[check.targets].append(check)
        for targets, group in by_targets.items():
            names, binds, prefilter = self._atoms([c.test for c in group], "?this")
            text = (
                f"SELECT ?this {' '.join(binds.values())} WHERE {{ "
                f"{{ SELECT DISTINCT ?this WHERE {{ {{ {targets.pattern('?this', self.ctx)} }} FILTER({prefilter}) }} }} "
                f"{' '.join(f'BIND({e} AS {n})' for e, n in binds.items())} }}"
            )
            for row in self.query(text):
                focus = rdflib_term(row["this"])
                for check, n in zip(group, names, strict=True):
                    if check.test.decide(focus, [_true(row[a[1:]]) for a in n]):
                        self.report(row["this"], None, row["this"] if check.value_is_focus else None, check.source)

    def counts(self, checks: list[CountCheck]) -> None:
        """sh:minCount and sh:hasValue: the focus nodes of a target declaration minus the subjects that have
        the value(s) (an anti-join Oxigraph hashes: a look-up per focus node and property costs more)."""
        by_targets: dict[Targets, list[tuple[CountCheck, str]]] = defaultdict(list)
        for check in checks:
            p = _iri(check.path)
            if check.min == 1:
                having = f"?this {p} ?x"
            elif check.min > 1:
                having = f"SELECT ?this WHERE {{ ?this {p} ?x }} GROUP BY ?this HAVING (COUNT(DISTINCT ?x) >= {check.min})"
            elif check.has_value is not None:
                form = _ox(check.has_value)
                ok = form is not None and rdflib_term(form) == check.has_value  # else no data term equals it
                having = f"?this {p} {_sparql(form)}" if ok else "FILTER(false)"
            else:
                continue
            by_targets[check.targets].append((check, having))
        for targets, group in by_targets.items():
            focus = targets.pattern("?this", self.ctx)
            branches = " UNION ".join(f"{{ {{ {focus} }} MINUS {{ {having} }} BIND({k} AS ?k) }}" for k, (_c, having) in enumerate(group))
            for row in self.query(f"SELECT DISTINCT ?this ?k WHERE {{ {branches} }}"):
                check = group[int(row["k"].value)][0]
                self.report(row["this"], ox.NamedNode(str(check.path)), None, check.source)
        highs: dict[Node, list[CountCheck]] = defaultdict(list)
        for check in checks:
            if check.max is not None:
                highs[check.path].append(check)
        if not highs:
            return
        # One cheap count first: a predicate with as many triples as subjects gives no subject two values.
        values = " ".join(_iri(p) for p in highs)
        text = f"SELECT ?p WHERE {{ VALUES ?p {{ {values} }} ?s ?p ?o }} GROUP BY ?p HAVING (COUNT(*) = COUNT(DISTINCT ?s))"
        single = {row["p"] for row in self.query(text)}
        for path, group in highs.items():
            if ox.NamedNode(str(path)) not in single or any(c.max == 0 for c in group):
                self.max_counts(path, group)

    def max_counts(self, path: Node, group: list[CountCheck]) -> None:
        least = min(c.max for c in group if c.max is not None)
        p = _iri(path)
        target_sets = sorted({c.targets for c in group}, key=repr)
        index = {t: k for k, t in enumerate(target_sets)}
        cands = [" || ".join(f"?n > {c.max}" for c in group if c.targets == t) for t in target_sets]
        hits = self.target_hits(target_sets, [f"({c})" for c in cands])
        text = (
            f"SELECT ?this ?n {' '.join(f'?h{k}' for k in range(len(target_sets)))} WHERE {{ "
            f"{{ SELECT ?this (COUNT(DISTINCT ?o) AS ?n) WHERE {{ ?this {p} ?o }} GROUP BY ?this HAVING (COUNT(DISTINCT ?o) > {least}) }} "
            f"{' '.join(hits)} FILTER({' || '.join(f'?h{k}' for k in range(len(target_sets)))}) }}"
        )
        for row in self.query(text):
            n = int(row["n"].value)
            for check in group:
                if _true(row[f"h{index[check.targets]}"]) and n > check.max:  # type: ignore[operator]
                    self.report(row["this"], ox.NamedNode(str(path)), None, check.source)

    def disjoint(self, checks: list[DisjointCheck]) -> None:
        for check in checks:
            text = (
                f"SELECT DISTINCT ?this ?v WHERE {{ ?this {_iri(check.path)} ?v . ?this {_iri(check.other)} ?v . "
                f"FILTER EXISTS {{ {check.targets.pattern('?this', self.ctx)} }} }}"
            )
            for row in self.query(text):
                self.report(row["this"], ox.NamedNode(str(check.path)), row["v"], check.source)

    def closed(self, checks: list[ClosedCheck]) -> None:
        for check in checks:
            allowed = f"?p NOT IN ({', '.join(sorted(_iri(p) for p in check.allowed))}) && " if check.allowed else ""
            text = (
                f"SELECT DISTINCT ?this ?p ?o WHERE {{ {{ {check.targets.pattern('?this', self.ctx)} }} ?this ?p ?o . "
                f"FILTER({allowed}!(sameTerm(?p, <{RDF.type}>) && sameTerm(?o, <{RDFS.Resource}>))) }}"
            )
            for row in self.query(text):
                self.report(row["this"], row["p"], row["o"], check.source)


def evaluate(store: ox.Store, plan: Plan) -> list[CoreResult]:
    """Every result of the compiled checks over the union of `store`'s graphs."""
    run = _Run(store)
    run.values(plan.values)
    run.nodes(plan.nodes)
    run.counts(plan.counts)
    run.disjoint(plan.disjoint)
    run.closed(plan.closed)
    return list(run.results.values())
