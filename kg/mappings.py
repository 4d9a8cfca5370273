"""SSSOM mapping tables (`mappings/*.sssom.tsv`) -> mapping triples in the mappings graph.

CURIEs of other vocabularies are expanded with bioregistry's converter (no hand-written URI
patterns); only our own `ekg:`/`ekgid:` prefixes come from this project.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad

from kg import vocabulary as v
from kg.sourcefile import SourceError

PREDICATES = {
    "skos:exactMatch": v.SKOS + "exactMatch",
    "skos:closeMatch": v.SKOS + "closeMatch",
    "skos:broadMatch": v.SKOS + "broadMatch",
    "skos:narrowMatch": v.SKOS + "narrowMatch",
    "skos:relatedMatch": v.SKOS + "relatedMatch",
}
OWN = {"ekg": v.EKG, "ekgid": v.ID}


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]
    import bioregistry

    return bioregistry.get_converter()


def expand(curie: str) -> str | None:
    prefix, _, local = curie.partition(":")
    if prefix in OWN:
        return OWN[prefix] + local
    return _converter().expand(curie)


def read_sssom(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(body), delimiter="\t"))


def mapping_quads(folder: Path) -> list[Quad]:
    graph = v.GRAPHS["mappings"]
    quads: list[Quad] = []
    if not folder.is_dir():
        return quads
    for path in sorted(folder.glob("*.sssom.tsv")):
        text_lines = path.read_text(encoding="utf-8").splitlines()
        header_lines = sum(1 for line in text_lines if line.startswith("#"))
        for i, row in enumerate(read_sssom(path)):
            line = header_lines + 2 + i  # the column-name line, then one line per row
            subject, predicate, obj = (row.get(k, "").strip() for k in ("subject_id", "predicate_id", "object_id"))
            if predicate not in PREDICATES:
                raise SourceError(path, line, f"predicate_id {predicate!r} is not one of {', '.join(PREDICATES)}")
            s_iri, o_iri = expand(subject), expand(obj)
            if not s_iri or not subject.startswith(("ekg:", "ekgid:")):
                raise SourceError(path, line, f"subject_id {subject!r} is not an ekg: or ekgid: CURIE")
            if not o_iri:
                raise SourceError(path, line, f"object_id {obj!r} has a prefix the bioregistry does not know")
            o_node = NamedNode(o_iri)
            quads.append(Quad(NamedNode(s_iri), NamedNode(PREDICATES[predicate]), o_node, graph))
            if row.get("object_label"):
                quads.append(Quad(o_node, NamedNode(v.RDFS + "label"), Literal(row["object_label"].strip()), graph))
            quads.append(Quad(o_node, NamedNode(v.SKOS + "notation"), Literal(obj), graph))
    return quads
