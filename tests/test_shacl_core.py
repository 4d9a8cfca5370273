"""The compiled core constraints (kg.shacl_core, run by Oxigraph) report what pyshacl reports.

Each case is a small shapes graph and a small data set where SPARQL and pyshacl could part ways (literal
typing, term equality, regex dialects, counting over several named graphs, ...). The expected answer is
never written down: it is pyshacl's own report on the same data (`validate(..., reference=True)`).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
import rdflib
from pyoxigraph import Literal, Quad, RdfFormat, Store, parse

from kg.release import current
from kg.shacl_core import compile_shapes
from kg.shacl_regex import rust_regex
from kg.validation import Report, data_graph, shapes_graph, validate, validate_store

PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ex: <http://example.org/> .
"""


def _key(report: Report) -> Counter[tuple[str, ...]]:
    """The findings, blank nodes unnamed: the two paths read the data into two stores, which label them apart."""
    anonymous = lambda text: "_:" if text.startswith("_:") else text  # noqa: E731
    return Counter(tuple(anonymous(x) for x in (f.focus, f.path, f.value, f.message, f.severity)) for f in report.findings)


def _both(shapes_ttl: str, data_trig: str, *, compiled: bool = True) -> tuple[Report, Report]:
    """The fast path on a store holding `data_trig` (named graphs kept) and pyshacl on their merge."""
    shapes = rdflib.Graph().parse(data=PREFIXES + shapes_ttl, format="turtle")
    plan = compile_shapes(shapes)
    assert (plan.residual is None) is compiled, plan.unsupported
    quads = list(parse(PREFIXES + data_trig, format=RdfFormat.TRIG))
    store = Store()
    store.extend(quads)
    fast = validate_store(store, shapes=shapes)
    reference = validate(data_graph(quads), shapes=shapes, reference=True)
    assert reference.findings, "a case must make pyshacl report something"
    return fast, reference


def _assert_same(shapes_ttl: str, data_trig: str, *, compiled: bool = True) -> None:
    fast, reference = _both(shapes_ttl, data_trig, compiled=compiled)
    assert _key(fast) == _key(reference)  # as a multiset: one result per component and value, as pyshacl
    assert fast.conforms == reference.conforms


def test_datatype_reports_ill_typed_literals_as_rdflib_reads_them() -> None:
    # Oxigraph keeps "1e5"^^xsd:decimal as an ill-typed literal, rdflib reads it (Python's Decimal): pyshacl passes it.
    _assert_same(
        """
        ex:S a sh:NodeShape ; sh:targetClass ex:T ;
            sh:property [ sh:path ex:dec ; sh:datatype xsd:decimal ; sh:message "decimal" ] ;
            sh:property [ sh:path ex:int ; sh:datatype xsd:integer ; sh:message "integer" ] ;
            sh:property [ sh:path ex:nni ; sh:datatype xsd:nonNegativeInteger ; sh:message "nni" ] ;
            sh:property [ sh:path ex:bool ; sh:datatype xsd:boolean ; sh:message "boolean" ] ;
            sh:property [ sh:path ex:year ; sh:datatype xsd:gYear ; sh:message "year" ] ;
            sh:property [ sh:path ex:str ; sh:datatype xsd:string ; sh:message "string" ] ;
            sh:property [ sh:path ex:lang ; sh:datatype rdf:langString ; sh:message "langString" ] ;
            sh:property [ sh:path ex:any ; sh:datatype rdfs:Literal ; sh:message "literal" ] .
        """,
        """
        ex:a a ex:T ;
            ex:dec "abc"^^xsd:decimal , "1e5"^^xsd:decimal , " 2.5"^^xsd:decimal , 1.5 , 7 , "NaN"^^xsd:double ;
            ex:int " 5"^^xsd:integer , "1.0"^^xsd:integer , 12 , 3.0 ;
            ex:nni "-1"^^xsd:nonNegativeInteger , "4"^^xsd:nonNegativeInteger ;
            ex:bool "yes"^^xsd:boolean , "1"^^xsd:boolean , true ;
            ex:year "2023"^^xsd:gYear , "abc"^^xsd:gYear ;
            ex:str "plain" , "tagged"@en , ex:iri , [ ex:p 1 ] , 5 ;
            ex:lang "x"@EN , "y" ;
            ex:any "z" , ex:notALiteral .
        """,
    )


def test_in_and_has_value_compare_terms_not_values() -> None:
    # 1.0 equals 1 as a value, not as a term; a plain "CR" in the shapes is not rdflib-equal to "CR"^^xsd:string.
    _assert_same(
        """
        ex:S a sh:NodeShape ; sh:targetClass ex:T ;
            sh:property [ sh:path ex:n ; sh:in ( 1 "2"^^xsd:string ex:three "{v}"^^xsd:string ) ; sh:message "n in list" ] ;
            sh:property [ sh:path ex:plain ; sh:in ( "CR" ) ; sh:message "plain in list" ] ;
            sh:property [ sh:path ex:lang ; sh:in ( "x"@EN ) ; sh:message "lang in list" ] ;
            sh:property [ sh:path ex:h ; sh:hasValue 1 ; sh:message "has 1" ] ;
            sh:property [ sh:path ex:g ; sh:hasValue "x"@EN ; sh:message "has x@en" ] .
        """,
        """
        ex:a a ex:T ; ex:n 1 , 1.0 , "1" , 2 , "2" , ex:three , ex:four , [ ex:p 1 ] , "{v}" , "{w}" ;
            ex:plain "CR" ; ex:lang "x"@en , "x" ; ex:h 1.0 ; ex:g "x"@en .
        ex:b a ex:T ; ex:h 1 , 2 ; ex:g "x" .
        """,
    )


def test_ranges_report_what_cannot_be_compared() -> None:
    _assert_same(
        """
        ex:S a sh:NodeShape ; sh:targetClass ex:T ;
            sh:property [ sh:path ex:v ; sh:minInclusive 0 ; sh:message "at least 0" ] ;
            sh:property [ sh:path ex:v ; sh:maxExclusive 10.5 ; sh:message "below 10.5" ] ;
            sh:property [ sh:path ex:w ; sh:minExclusive 0 ; sh:maxInclusive 1 ; sh:message "in (0, 1]" ] ;
            sh:property [ sh:path ex:s ; sh:minInclusive "b" ; sh:message "from b" ] ;
            sh:property [ sh:path ex:d ; sh:minInclusive 0 ; sh:message "a double from 0" ] .
        """,
        # (pyshacl itself fails on NaN against a decimal bound: Python's Decimal refuses to order NaN)
        """
        ex:a a ex:T ;
            ex:d "NaN"^^xsd:double , "-INF"^^xsd:double , 1e1 , "1"^^xsd:float ;
            ex:v -1 , 0 , 10.5 , 3.25 , "5" , "abc"^^xsd:decimal , "INF"^^xsd:double , 1e1 ,
                 "2024-01-01"^^xsd:date , ex:iri , [ ex:p 1 ] , true ;
            ex:w 0 , 0.5 , 1 , 1.0001 , "0.5"^^xsd:float ;
            ex:s "a" , "b" , "c" , 5 , "b"@en .
        """,
    )


def test_pattern_is_pythons_regex_on_the_lexical_form() -> None:
    # Python's $ also matches before a final newline; \\S is Python's idea of non-space (\\x1c is a space to it).
    _assert_same(
        r"""
        ex:S a sh:NodeShape ; sh:targetClass ex:T ;
            sh:property [ sh:path ex:table ; sh:pattern "^Table [1-6]$" ; sh:message "table" ] ;
            sh:property [ sh:path ex:doi ; sh:pattern "^10\\.[0-9]{4,9}/\\S+$" ; sh:message "doi" ] ;
            sh:property [ sh:path ex:word ; sh:pattern "^\\w+\\d?$" ; sh:pattern "a" ; sh:message "two patterns" ] ;
            sh:property [ sh:path ex:ci ; sh:pattern "^abc$" ; sh:flags "i" ; sh:message "case-insensitive" ] ;
            sh:property [ sh:path ex:ml ; sh:pattern "^b$" ; sh:flags "m" ; sh:message "multi-line" ] ;
            sh:property [ sh:path ex:lower ; sh:pattern "^[^A-Z]+$" ; sh:message "no capitals" ] .
        ex:Iri a sh:NodeShape ; sh:targetClass ex:T ; sh:nodeKind sh:IRI ;
            sh:pattern "^http://example\\.org/[a-z]+$" ; sh:message "iri" .
        """,
        r"""
        ex:a a ex:T ;
            ex:table "Table 1" , "Table 1\n" , "Table 7" , "table 1" , 3 ;
            ex:doi "10.1177/2040620723" , "10.1177/20406\u001c" , "10.1177/x y" , ex:iri ;
            ex:word "héllo" , "ünïcode٣" , "a b" , "b" ;
            ex:ci "ABC" , "abd" , "K" ;
            ex:ml "a\nb\nc" , "abc" ;
            ex:lower "été" , "Été" , "" , [ ex:p 1 ] , 12 .
        <http://example.org/B2> a ex:T .
        _:blank a ex:T .
        """,
    )


def test_lengths_count_characters_and_fail_blank_nodes() -> None:
    _assert_same(
        """
        ex:S a sh:NodeShape ; sh:targetClass ex:T ;
            sh:property [ sh:path ex:v ; sh:minLength 1 ; sh:message "non-empty" ] ;
            sh:property [ sh:path ex:v ; sh:maxLength 3 ; sh:message "short" ] ;
            sh:property [ sh:path ex:z ; sh:minLength 0 ; sh:message "anything" ] .
        """,
        """
        ex:a a ex:T ; ex:v "" , "a" , "abcd" , "𝄞𝄞𝄞" , ""@en , 12345 , ex:i , [ ex:p 1 ] ; ex:z [ ex:p 2 ] .
        """,
    )


def test_class_and_targets_follow_subclasses() -> None:
    # Instances of subclasses are focus nodes and pass sh:class; implicit class targets; subjects/objects of.
    _assert_same(
        """
        ex:S a sh:NodeShape ; sh:targetClass ex:T ;
            sh:property [ sh:path ex:link ; sh:class ex:Target ; sh:message "links a target" ] .
        ex:Implicit a sh:NodeShape , rdfs:Class ;
            sh:property [ sh:path ex:q ; sh:minCount 1 ; sh:message "needs q" ] .
        ex:Subjects a sh:NodeShape ; sh:targetSubjectsOf ex:flag ; sh:targetObjectsOf ex:points ;
            sh:nodeKind sh:IRI ; sh:message "an IRI" .
        ex:Node a sh:NodeShape ; sh:targetNode ex:absent , "lit" ;
            sh:property [ sh:path ex:q ; sh:minCount 1 ; sh:message "target node needs q" ] .
        """,
        """
        ex:Sub rdfs:subClassOf ex:T . ex:SubTarget rdfs:subClassOf ex:Target .
        ex:SubSub rdfs:subClassOf ex:SubTarget .
        ex:a a ex:Sub ; ex:link ex:t1 , ex:t2 , ex:t3 , ex:u , "lit" , [ a ex:Target ] .
        ex:t1 a ex:Target . ex:t2 a ex:SubTarget . ex:t3 a ex:SubSub .
        ex:i a ex:Implicit . ex:j a ex:Implicit ; ex:q 1 .
        _:b ex:flag true . ex:c ex:flag false ; ex:points "x" , _:b2 , ex:d .
        """,
    )


def test_counts_are_sets_of_terms_over_all_named_graphs() -> None:
    # The same triple in two graphs counts once; 1 and 01 are one term once Oxigraph has read them.
    _assert_same(
        """
        ex:S a sh:NodeShape ; sh:targetClass ex:T ;
            sh:property [ sh:path ex:one ; sh:minCount 1 ; sh:maxCount 1 ; sh:message "exactly one" ] ;
            sh:property [ sh:path ex:two ; sh:minCount 2 ; sh:maxCount 2 ; sh:message "exactly two" ] ;
            sh:property [ sh:path ex:none ; sh:maxCount 0 ; sh:message "none" ] .
        """,
        """
        ex:a a ex:T ; ex:one "x" ; ex:two 1 , 01 .
        ex:g1 { ex:b a ex:T . ex:b ex:one "x" ; ex:two 1 , 2 . }
        ex:g2 { ex:b ex:one "x" ; ex:two 2 , 3 ; ex:none 0 . }
        ex:c a ex:T ; ex:one "x" , "y" ; ex:two 1 , 2 .
        """,
    )


def test_closed_reports_each_triple_with_its_predicate_and_object() -> None:
    _assert_same(
        """
        ex:S a sh:NodeShape ; sh:targetClass ex:T ; sh:closed true ;
            sh:ignoredProperties ( rdf:type ) ;
            sh:property [ sh:path ex:ok ; sh:maxCount 5 ; sh:message "ok" ] ;
            sh:message "not a property of T" .
        """,
        """
        ex:a a ex:T , rdfs:Resource ; ex:ok 1 ; ex:bad 2 , "two" ; ex:worse [ ex:p 1 ] .
        ex:g { ex:a ex:alsoBad ex:x . }
        """,
    )


def test_or_xone_disjoint_and_node_level_checks() -> None:
    _assert_same(
        """
        ex:S a sh:NodeShape ; sh:targetClass ex:T ;
            sh:property [ sh:path ex:count ; sh:or ( [ sh:datatype xsd:nonNegativeInteger ] [ sh:datatype xsd:integer ] ) ;
                          sh:minInclusive 0 ; sh:message "a count" ] ;
            sh:property [ sh:path ex:ref ; sh:or ( [ sh:class ex:A ] [ sh:class ex:B ] [ sh:deactivated true ; sh:class ex:C ] ) ;
                          sh:message "an A or a B" ] ;
            sh:property [ sh:path ex:second ; sh:disjoint ex:first ; sh:message "second is not first" ] .
        ex:X a sh:NodeShape ; sh:targetClass ex:T ;
            sh:xone ( [ sh:path ex:e ; sh:minCount 1 ] [ sh:path ex:r ; sh:minCount 1 ] ) ;
            sh:message "an e or an r" .
        ex:Y a sh:NodeShape ; sh:targetClass ex:T ;
            sh:xone ( [ sh:datatype xsd:string ] [ sh:nodeKind sh:IRI ] [ sh:pattern "^http://example\\\\.org/a" ] ) ;
            sh:message "one of three" .
        """,
        """
        ex:a a ex:T ; ex:count 3 , -2 , 2.0 , "4"^^xsd:nonNegativeInteger , "x" ;
            ex:ref ex:ra , ex:rb , ex:rc ; ex:first ex:c1 , ex:c2 ; ex:second ex:c2 , ex:c3 ; ex:e 1 .
        ex:ra a ex:A . ex:rb a ex:B . ex:rc a ex:C .
        ex:b a ex:T ; ex:e 1 ; ex:r 2 .
        ex:c a ex:T .
        """,
    )


def test_deactivated_shapes_and_warning_severity() -> None:
    # Warnings and infos are reported but the graph still conforms (pyshacl with allow_warnings).
    _assert_same(
        """
        ex:Off a sh:NodeShape ; sh:targetClass ex:T ; sh:deactivated true ;
            sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:message "off" ] .
        ex:S a sh:NodeShape ; sh:targetClass ex:T ;
            sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:deactivated true ; sh:message "also off" ] ;
            sh:property [ sh:path ex:q ; sh:minCount 1 ; sh:severity sh:Warning ; sh:message "a warning" ] ;
            sh:property [ sh:path ex:r ; sh:maxCount 0 ; sh:severity sh:Info ; sh:message "an info" ] .
        """,
        """
        ex:a a ex:T ; ex:r 1 .
        """,
    )


def test_what_is_not_compiled_is_left_to_pyshacl() -> None:
    # No sh:message (pyshacl writes its own), a sequence path, sh:lessThan, sh:node: pyshacl runs those parts.
    _assert_same(
        """
        ex:S a sh:NodeShape ; sh:targetClass ex:T ; sh:closed true ; sh:ignoredProperties ( rdf:type ) ;
            sh:nodeKind sh:IRI ; sh:node ex:N ; sh:message "closed, and conforms to N" ;
            sh:property [ sh:path ex:p ; sh:minCount 2 ] ;
            sh:property [ sh:path ( ex:p ex:q ) ; sh:minCount 1 ; sh:message "p/q" ] ;
            sh:property [ sh:path ex:p ; sh:lessThan ex:q ; sh:message "p below q" ] ;
            sh:property [ sh:path ex:q ; sh:maxCount 1 ; sh:message "compiled" ] .
        ex:N a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:minCount 1 ; sh:message "N needs q" ] .
        """,
        """
        ex:a a ex:T ; ex:p 5 ; ex:q 3 , 4 ; ex:z 1 .
        ex:b a ex:T ; ex:p ex:c .
        """,
        compiled=False,
    )


PATTERNS = [
    "^Table [1-6]$",
    "^(Table [1-6](, footnote [a-z])?|Text: .+)$",
    "^10\\.[0-9]{4,9}/\\S+$",
    "^[^A-Z]+$",
    "^-?([0-9]+(\\.[0-9]+)?|\\.[0-9]+)$",
    "^\\w+\\s\\d*$",
    "a.c",
    "^x*?y+$",
    "^$",
]
STRINGS = ["Table 1", "Table 1\n", "Text: Results", "Text: ", "10.1177/2040", "10.1177/ab\x1c", "ÉTÉ", "été", "-1.5", ".5", "1.",
           "héllo 3", "héllo\u00a03", "a\u3000", "abc", "a\nc", "xxy", "y", "", "\u0663"]  # fmt: skip


@pytest.mark.parametrize("pattern", PATTERNS)
def test_patterns_translated_for_oxigraph_match_only_what_python_matches(pattern: str) -> None:
    # The translation may reject more strings than Python (they are then decided in Python), never fewer.
    rust = rust_regex(pattern, 0)
    assert rust is not None
    store = Store()
    for text in STRINGS:
        [row] = store.query(f"SELECT (REGEX({Literal(text)}, {Literal(rust)}) AS ?m) WHERE {{}}")
        oxigraph = row["m"].value == "true"
        python = re.search(pattern, text) is not None
        assert python or not oxigraph, (pattern, text)
        if not text.endswith("\n"):  # Python's $ before a final newline is the one knowing difference
            assert oxigraph == python, (pattern, text)


def test_review_graph_fast_equals_pyshacl(built_home) -> None:  # type: ignore[no-untyped-def]
    quads: list[Quad] = list(parse(path=str(current(built_home).dump_path), format=RdfFormat.N_QUADS))
    store = Store()
    store.extend(quads)
    shapes = shapes_graph()
    assert compile_shapes(shapes).residual is None  # every core constraint of the project's shapes compiles
    fast = validate_store(store, shapes=shapes)
    reference = validate(data_graph(quads), shapes=shapes, reference=True)
    assert fast.conforms and reference.conforms
    assert _key(fast) == _key(reference)
