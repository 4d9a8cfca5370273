"""Reading RDF a user hands us: format from the file name, clear errors with the line, no entity tricks.

Every refusal is one line, `FILE:LINE[:COLUMN]: what is wrong`. pyoxigraph reports the position of Turtle,
N-Triples, N-Quads, TriG and JSON-LD errors; its RDF/XML parser reports none (and accepts a file cut off
mid-document), so RDF/XML is first read with the standard library's expat parser, which does.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from pathlib import Path

import rdflib
from pyoxigraph import RdfFormat, parse

from kg.validation import data_graph

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
FORMAT_NAMES = {
    RdfFormat.TURTLE: "Turtle",
    RdfFormat.N_TRIPLES: "N-Triples",
    RdfFormat.N_QUADS: "N-Quads",
    RdfFormat.TRIG: "TriG",
    RdfFormat.JSON_LD: "JSON-LD",
    RdfFormat.RDF_XML: "RDF/XML",
}
MAX_BYTES = 512 * 1024 * 1024


class RdfInputError(ValueError):
    """A file that cannot be read as RDF; the message is `FILE:LINE[:COLUMN]: reason`."""

    def __init__(self, path: Path, line: int | None, message: str, column: int | None = None) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.reason = message
        where = str(path) + (f":{line}" if line else "") + (f":{column}" if line and column else "")
        super().__init__(f"{where}: {message}")


def _line_at(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def _reason(message: str) -> str:
    """pyoxigraph's message without the position it also gives as attributes ('Parser error at line 3 ...: ')."""
    first = message.splitlines()[0] if message else "syntax error"
    first = re.sub(r"^Parser error (at|between) line \d+ (column \d+|between columns \d+ and \d+)( and line \d+ column \d+)?: ", "", first)
    return re.sub(r" \(line \d+\)$", "", first) or "syntax error"


def _position(exc: SyntaxError, data: bytes) -> tuple[int | None, int | None]:
    if exc.lineno:
        return exc.lineno, exc.offset or None
    match = re.search(r"line (\d+)(?: column (\d+))?", str(exc))
    if match:
        return int(match.group(1)), int(match.group(2)) if match.group(2) else None
    # No position given: the first line holding a term the message quotes (`...`, "...", or a prefix).
    for token in re.findall(r"`([^`]+)`|\"([^\"]+)\"|prefix (\S+?:)", str(exc)):
        found = data.find(next(t for t in token if t).encode())
        if found >= 0:
            return _line_at(data, found), None
    return None, None


def _check_xml(path: Path, data: bytes) -> None:
    """Well-formed, namespaced XML without a DTD, or an error with its line (expat reports positions)."""
    doctype = re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE)
    if doctype:
        # DTDs and entity declarations enable billion-laughs and external-entity attacks.
        raise RdfInputError(path, _line_at(data, doctype.start()), "RDF/XML with a DOCTYPE or ENTITY declaration is refused")
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    unqualified: list[tuple[int, int, str]] = []

    def start(name: str, _attrs: dict) -> None:
        if " " not in name and not unqualified:
            unqualified.append((parser.CurrentLineNumber, parser.CurrentColumnNumber + 1, name))

    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        reason = xml.parsers.expat.ErrorString(exc.code)
        raise RdfInputError(path, exc.lineno, f"RDF/XML is not well-formed XML: {reason}", exc.offset + 1) from None
    if unqualified:
        line, column, name = unqualified[0]
        raise RdfInputError(path, line, f"RDF/XML element <{name}> has no namespace (declare and use a prefix)", column)


def read_quads(path: Path, rdf_format: RdfFormat | None = None) -> list:
    """Parse `path` into pyoxigraph quads, or raise RdfInputError naming the file and line."""
    if not path.is_file():
        raise RdfInputError(path, None, "no such file" if not path.exists() else "not a regular file")
    fmt = rdf_format or FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise RdfInputError(path, None, f"unknown RDF file type {path.suffix!r} (use .ttl, .nt, .nq, .trig, .jsonld or .rdf)")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise RdfInputError(path, None, f"larger than {MAX_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise RdfInputError(path, None, f"cannot be read: {exc.strerror or exc}") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_at(data, exc.start)
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        reason = f"not valid UTF-8 (byte 0x{data[exc.start]:02x}: {exc.reason}); save the file as UTF-8"
        raise RdfInputError(path, line, reason, column) from None
    # A byte-order mark (Windows editors write one) is not part of the document; XML handles its own.
    if fmt != RdfFormat.RDF_XML:
        data = data.removeprefix(b"\xef\xbb\xbf")
    if fmt == RdfFormat.RDF_XML:
        _check_xml(path, data)
    try:
        return list(parse(data, format=fmt, base_iri=path.resolve().as_uri()))
    except SyntaxError as exc:
        line, column = _position(exc, data)
        reason = _reason(str(exc))
        if "LoadDocumentCallback" in reason:
            reason = "remote JSON-LD contexts are not fetched; put the @context inline"
            line = line or _first_line_of(data, b'"@context"')
        raise RdfInputError(path, line, f"{FORMAT_NAMES[fmt]} syntax error: {reason}", column) from None
    except (ValueError, OSError) as exc:  # pyoxigraph reports a few input problems this way
        raise RdfInputError(path, None, f"{FORMAT_NAMES[fmt]} cannot be read: {exc}") from None


def _first_line_of(data: bytes, needle: bytes) -> int | None:
    found = data.find(needle)
    return _line_at(data, found) if found >= 0 else None


def read_rdf(path: Path, rdf_format: RdfFormat | None = None) -> rdflib.Graph:
    """Parse `path` into an Oxigraph-backed rdflib graph (all graphs merged), or raise RdfInputError."""
    return data_graph(read_quads(path, rdf_format))
