"""The published JSON-LD `@context` (ontology/context.jsonld): prefixes plus one short term per ekg class
and property, with the value coercion the ontology declares.

The file is generated from the ontology and committed, so that it can be published at a stable URL and
reviewed in diffs. Regenerate it after the ontology gains a term: `python -m kg.jsonld_context`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pyoxigraph import NamedNode, Quad

from kg import paths
from kg import vocabulary as v

CONTEXT_PATH = paths.ROOT / "ontology" / "context.jsonld"
CONTEXT_URL = v.BASE + "context.jsonld"

# Prefixes for compact IRIs: our own, the W3C ones the data uses, and roots the mappings point into
# (no `doi:` prefix: `doi` is the term for ekg:doi).
CONTEXT_PREFIXES = {
    **v.PREFIXES,
    "obo": "http://purl.obolibrary.org/obo/",
    "clinicaltrials": "https://www.clinicaltrials.gov/study/",
}


INTEGER_TYPES = {v.XSD + t for t in ("integer", "nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger")}


def _type_coercion(kinds: set[str], ranges: set[str]) -> str | None:
    if "ObjectProperty" in kinds:
        return "@id"
    xsd_ranges = {r for r in ranges if r.startswith(v.XSD)}
    if "DatatypeProperty" in kinds and len(xsd_ranges) == 1:
        datatype = xsd_ranges.pop()
        # Plain strings compact to bare JSON strings without coercion.
        if datatype == v.XSD + "string":
            return None
        # Counts are written as xsd:integer (stores canonicalise the integer subtypes), so coerce to that.
        if datatype in INTEGER_TYPES:
            return "xsd:integer"
        return "xsd:" + datatype[len(v.XSD) :]
    return None


def build_context(ontology: list[Quad]) -> dict[str, Any]:
    """The `@context` object for the ontology's classes and properties (sorted keys, so diffs stay small)."""
    kinds: dict[str, set[str]] = {}
    ranges: dict[str, set[str]] = {}
    for q in ontology:
        if not isinstance(q.subject, NamedNode) or not q.subject.value.startswith(v.EKG):
            continue
        name = q.subject.value[len(v.EKG) :]
        if q.predicate.value == v.RDF + "type" and q.object.value.startswith(v.OWL):
            kinds.setdefault(name, set()).add(q.object.value[len(v.OWL) :])
        elif q.predicate.value == v.RDFS + "range" and isinstance(q.object, NamedNode):
            ranges.setdefault(name, set()).add(q.object.value)
    context: dict[str, Any] = dict(sorted(CONTEXT_PREFIXES.items()))
    terms = {"Class", "ObjectProperty", "DatatypeProperty", "AnnotationProperty"}
    for name in sorted(kinds):
        if not kinds[name] & terms or name in context:
            continue
        coercion = _type_coercion(kinds[name], ranges.get(name, set()))
        context[name] = {"@id": "ekg:" + name, "@type": coercion} if coercion else "ekg:" + name
    return context


def context_document(ontology: list[Quad]) -> str:
    return json.dumps({"@context": build_context(ontology)}, indent=2, ensure_ascii=False) + "\n"


def load_context(path: Path | None = None) -> dict[str, Any]:
    """The committed context object (the value of `@context`)."""
    return json.loads((path or CONTEXT_PATH).read_text(encoding="utf-8"))["@context"]


if __name__ == "__main__":
    from kg.ontology import ontology_quads

    CONTEXT_PATH.write_text(context_document(ontology_quads()), encoding="utf-8")
    sys.stderr.write(f"wrote {CONTEXT_PATH}\n")
