"""HTML for people: the Jinja templates and how RDF terms are shown and linked."""

from __future__ import annotations

from pathlib import Path

from pyoxigraph import Literal, NamedNode
from starlette.templating import Jinja2Templates

from kg.vocabulary import BASE, EKG, ID, PREFIXES, XSD

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def link(iri: str) -> str:
    """Where a browser should go for an IRI: our own entities and terms resolve on this server."""
    if iri.startswith(ID):
        return "/id/" + iri[len(ID) :]
    if iri.startswith(EKG) or iri == BASE + "ontology":
        return "/ontology#" + iri[len(EKG) :] if iri.startswith(EKG) else "/ontology"
    return iri


def compact(iri: str) -> str:
    """`ekg:Study` for a known namespace, else the IRI (our own entities keep their path)."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and prefix != "ekgid":
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri.removeprefix(ID)


def term_view(term: object, label: object = None) -> dict:
    if isinstance(term, NamedNode):
        return {
            "iri": term.value,
            "href": link(term.value),
            "text": label.value if isinstance(label, Literal) else compact(term.value),
            "note": "",
        }
    if isinstance(term, Literal):
        note = (
            f"@{term.language}"
            if term.language
            else ("" if term.datatype.value == XSD + "string" else term.datatype.value.removeprefix(XSD))
        )
        return {"iri": "", "href": "", "text": term.value, "note": note}
    return {"iri": "", "href": "", "text": str(term), "note": ""}
