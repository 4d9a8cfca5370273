"""Reading RDF a user hands us: format from the file name, clear errors with the line, no entity tricks."""

from __future__ import annotations

import re
from pathlib import Path

import rdflib
from pyoxigraph import RdfFormat, parse, serialize

FORMATS = {
    ".ttl": RdfFormat.TURTLE,
    ".turtle": RdfFormat.TURTLE,
    ".nt": RdfFormat.N_TRIPLES,
    ".nq": RdfFormat.N_QUADS,
    ".trig": RdfFormat.TRIG,
    ".jsonld": RdfFormat.JSON_LD,
    ".json": RdfFormat.JSON_LD,
    ".rdf": RdfFormat.RDF_XML,
    ".xml": RdfFormat.RDF_XML,
    ".owl": RdfFormat.RDF_XML,
}
MAX_BYTES = 512 * 1024 * 1024


class RdfInputError(ValueError):
    pass


def _line_of(message: str) -> str:
    match = re.search(r"line (\d+)|(\d+):(\d+)", message)
    if match:
        return match.group(1) or match.group(2)
    return ""


def read_rdf(path: Path, rdf_format: RdfFormat | None = None) -> rdflib.Graph:
    """Parse `path` into an Oxigraph-backed rdflib graph (all graphs merged), or raise RdfInputError."""
    if not path.is_file():
        raise RdfInputError(f"{path}: no such file")
    fmt = rdf_format or FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise RdfInputError(f"{path}: unknown RDF file type {path.suffix!r} (use .ttl, .nt, .nq, .trig, .jsonld or .rdf)")
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise RdfInputError(f"{path}: larger than {MAX_BYTES} bytes")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RdfInputError(f"{path}:{line}: not valid UTF-8 (byte {exc.start}: {exc.reason})") from None
    if fmt == RdfFormat.RDF_XML and re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        # DTDs and entity declarations enable billion-laughs and external-entity attacks.
        raise RdfInputError(f"{path}: RDF/XML with a DOCTYPE or ENTITY declaration is refused")
    try:
        quads = list(parse(data, format=fmt, base_iri=path.resolve().as_uri()))
    except SyntaxError as exc:
        message = str(exc).splitlines()[0] if str(exc) else "syntax error"
        line = _line_of(message)
        where = f"{path}:{line}" if line else str(path)
        raise RdfInputError(f"{where}: {fmt.name} syntax error: {message}") from None
    graph = rdflib.Graph(store="Oxigraph")
    nt = serialize((q.triple for q in quads), format=RdfFormat.N_TRIPLES) or b""
    graph.parse(data=nt, format="ox-nt")
    return graph
