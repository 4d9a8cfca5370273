"""Writing query results: SPARQL formats by Oxigraph's serializer, tables by rich, Markdown by hand-off to rich's text."""

from __future__ import annotations

import io

from pyoxigraph import BlankNode, Literal, NamedNode, QueryBoolean, QueryResultsFormat, QuerySolutions, QueryTriples, RdfFormat, serialize

RESULT_FORMATS = {
    "csv": QueryResultsFormat.CSV,
    "tsv": QueryResultsFormat.TSV,
    "json": QueryResultsFormat.JSON,
    "xml": QueryResultsFormat.XML,
}
GRAPH_FORMATS = {
    "turtle": RdfFormat.TURTLE,
    "nt": RdfFormat.N_TRIPLES,
    "jsonld": RdfFormat.JSON_LD,
    "xml": RdfFormat.RDF_XML,
}
FORMATS = ("table", "csv", "tsv", "json", "xml", "markdown")


def cell(term: object) -> str:
    if term is None:
        return ""
    if isinstance(term, (NamedNode, Literal, BlankNode)):
        return term.value
    return str(term)


def rows(result: QuerySolutions) -> tuple[list[str], list[list[str]]]:
    names = [var.value for var in result.variables]
    return names, [[cell(solution[name]) for name in names] for solution in result]


def serialize_result(result: QuerySolutions | QueryBoolean | QueryTriples, fmt: str) -> bytes:
    """CSV/TSV/JSON/XML for SELECT and ASK; Turtle/N-Triples/JSON-LD/RDF-XML for CONSTRUCT."""
    if isinstance(result, QueryTriples):
        rdf_format = GRAPH_FORMATS.get(fmt, RdfFormat.TURTLE)
        return serialize(result, format=rdf_format) or b""
    return result.serialize(format=RESULT_FORMATS[fmt]) or b""


def markdown(names: list[str], table: list[list[str]]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = io.StringIO()
    out.write("| " + " | ".join(esc(n) for n in names) + " |\n")
    out.write("|" + "---|" * len(names) + "\n")
    for row in table:
        out.write("| " + " | ".join(esc(c) for c in row) + " |\n")
    return out.getvalue()
