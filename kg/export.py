"""Deterministic exports of a release: sorted input to the serializers gives identical bytes.

Oxigraph writes every format but JSON-LD, which it can only write expanded; compacted JSON-LD with the
published context (ontology/context.jsonld) is written by rdflib and then put in a canonical order.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from pyoxigraph import BlankNode, NamedNode, Quad, RdfFormat, Triple, parse, serialize

from kg import vocabulary as v
from kg.dump import SORT_MEMORY
from kg.jsonld_context import CONTEXT_PREFIXES, load_context
from kg.release import Release

EXPORT_FORMATS = {
    "turtle": RdfFormat.TURTLE,
    "nt": RdfFormat.N_TRIPLES,
    "nq": RdfFormat.N_QUADS,
    "trig": RdfFormat.TRIG,
    "jsonld": RdfFormat.JSON_LD,
    "xml": RdfFormat.RDF_XML,
}
MEDIA_TYPES = {
    "turtle": "text/turtle",
    "nt": "application/n-triples",
    "nq": "application/n-quads",
    "trig": "application/trig",
    "jsonld": "application/ld+json",
    "xml": "application/rdf+xml",
}
SUFFIXES = {"turtle": "ttl", "nt": "nt", "nq": "nq", "trig": "trig", "jsonld": "jsonld", "xml": "rdf"}
DATASET_FORMATS = {"nq", "trig"}
GRAPH_NAMES = tuple(v.GRAPHS)
# Instance IRIs (ekgid:cohort/tower/...) would need escaped local names (`ekgid:cohort\/tower`),
# which some loaders reject: the text formats write them as full IRIs.
TEXT_PREFIXES = {k: ns for k, ns in CONTEXT_PREFIXES.items() if k != "ekgid"}


# Compacted JSON-LD is made by rdflib in memory (about 2 KB a triple and minutes a million): above this
# many triples (KG_JSONLD_MAX_TRIPLES) it is refused rather than let one export exhaust the machine;
# N-Quads, N-Triples and Turtle stream at any size.
JSONLD_MAX_TRIPLES = 500_000


def jsonld_max_triples() -> int:
    return int(os.environ.get("KG_JSONLD_MAX_TRIPLES", JSONLD_MAX_TRIPLES))


class ExportError(ValueError):
    pass


class TooLarge(ExportError):
    pass


def check_size(release: Release, fmt: str) -> None:
    triples, limit = release.manifest.get("counts", {}).get("triples", 0), jsonld_max_triples()
    if fmt == "jsonld" and triples > limit:
        raise TooLarge(
            f"JSON-LD is compacted in memory and this release has {triples:,} triples (the limit is {limit:,}, "
            "KG_JSONLD_MAX_TRIPLES): export N-Quads, N-Triples or Turtle instead, which stream at any size"
        )


def graph_iri(graph: str) -> str:
    """A named graph given by short name (`data`) or by IRI, as its IRI."""
    if graph in v.GRAPHS:
        return v.GRAPHS[graph].value
    if graph in {g.value for g in v.GRAPHS.values()}:
        return graph
    raise ExportError(f"unknown graph {graph!r}: one of {', '.join(GRAPH_NAMES)}")


def export_bytes(release: Release, fmt: str, graph: str | None = None) -> bytes:
    """Serialize the release (or one named graph, by name or IRI) in `fmt`; triple formats merge the graphs."""
    buffer = io.BytesIO()
    write_export(release, fmt, buffer, graph)
    return buffer.getvalue()


def write_export(release: Release, fmt: str, out: BinaryIO, graph: str | None = None) -> None:
    """Write the export to `out` as a stream: memory stays flat whatever the release's size (except
    JSON-LD, which rdflib compacts in memory).

    The dump is the release's canonical N-Quads (kg.dump): each graph's lines sorted and distinct, the
    graph name last. N-Quads is the dump itself. A triple's N-Triples line is its quad's line without
    the graph name; GNU sort puts those lines in (subject, predicate, object) order (an IRI holds no
    space or '>') and drops the triples that several graphs share. The other formats are Oxigraph's
    serializers fed by a streaming parser of those sorted lines (or of the dump, for TriG).
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r}: one of {', '.join(EXPORT_FORMATS)}")
    check_size(release, fmt)
    iri = graph_iri(graph) if graph is not None else None
    if fmt == "nq":
        for line in _dump_lines(release, iri):
            out.write(line)
    elif fmt == "trig":
        quads = parse(path=str(release.dump_path), format=RdfFormat.N_QUADS)
        serialize((q for q in quads if iri is None or q.graph_name.value == iri), out, format=RdfFormat.TRIG, prefixes=TEXT_PREFIXES)
    else:
        with _sorted_triples(release, iri) as lines:
            if fmt == "nt":
                shutil.copyfileobj(lines, out, 1 << 20)
            elif fmt == "jsonld":
                out.write(jsonld_bytes(list(parse(lines, format=RdfFormat.N_TRIPLES))))
            else:
                serialize(parse(lines, format=RdfFormat.N_TRIPLES), out, format=EXPORT_FORMATS[fmt], prefixes=TEXT_PREFIXES)


def _dump_lines(release: Release, iri: str | None) -> Iterator[bytes]:
    suffix = f" <{iri}> .\n".encode() if iri is not None else None
    with release.dump_path.open("rb") as f:
        for line in f:
            if suffix is None or line.endswith(suffix):
                yield line


@contextmanager
def _sorted_triples(release: Release, iri: str | None) -> Iterator[BinaryIO]:
    """The N-Triples lines of the release (or of one graph), sorted and distinct, as a readable stream."""
    sort = shutil.which("sort")
    if sort is None:
        raise ExportError("GNU sort (coreutils) is needed to export triple formats and was not found on PATH")
    proc = subprocess.Popen(
        [sort, "-u", "-S", SORT_MEMORY, "--parallel=2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "LC_ALL": "C"}
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        # sort reads all of its input before it writes its first line: feeding it first cannot deadlock.
        with proc.stdin:
            for line in _dump_lines(release, iri):
                proc.stdin.write(line[: line.rfind(b" <", 0, len(line) - 2)] + b" .\n")
        yield proc.stdout
    finally:
        proc.stdout.close()
        if proc.wait() not in (0, -13):  # -13: SIGPIPE, we stopped reading early (an error upstream)
            raise ExportError(f"sort failed with exit code {proc.returncode}")


def rdf_bytes(items: list[Quad] | list[Triple], fmt: str) -> bytes:
    """Serialize already-sorted quads or triples; the one place that picks the serializer."""
    if fmt == "jsonld":
        return jsonld_bytes(items)  # type: ignore[arg-type]
    rdf_format = EXPORT_FORMATS[fmt]
    if rdf_format in (RdfFormat.TURTLE, RdfFormat.TRIG, RdfFormat.RDF_XML):
        return serialize(items, format=rdf_format, prefixes=TEXT_PREFIXES) or b""
    return serialize(items, format=rdf_format) or b""


def jsonld_bytes(triples: list[Triple], context: dict[str, Any] | None = None) -> bytes:
    """Compacted JSON-LD with the published context inlined (so the file stands alone), canonically ordered."""
    import rdflib

    graph = rdflib.Graph()
    for t in triples:
        graph.add((_rdflib_term(t.subject), _rdflib_term(t.predicate), _rdflib_term(t.object)))
    context = context if context is not None else load_context()
    document = json.loads(graph.serialize(format="json-ld", context=context, auto_compact=False))
    document = _canonical(document)
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _rdflib_term(term: Any) -> Any:
    """pyoxigraph term -> rdflib term, keeping blank-node labels (rdflib's parsers would rename them at random)."""
    import rdflib

    if isinstance(term, NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    if term.datatype.value == v.XSD + "string":
        return rdflib.Literal(term.value)  # a plain string: a bare JSON string, not {"@value", "@type"}
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value), normalize=False)


def _canonical(node: Any, key: str | None = None) -> Any:
    """Sort JSON-LD's unordered arrays (node lists, multi-valued properties); keep @list and @context as they are."""
    if isinstance(node, dict):
        return {k: node[k] if k == "@context" else _canonical(node[k], k) for k in node}
    if isinstance(node, list):
        items = [_canonical(item) for item in node]
        if key == "@list":
            return items
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, ensure_ascii=False))
    return node


@contextmanager
def gzipped(out: BinaryIO) -> Iterator[BinaryIO]:
    """A stream that gzips into `out` without a timestamp or file name, so equal input gives equal bytes."""
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=out, mtime=0) as z:
        yield z  # type: ignore[misc]


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write `path` through a `.part` file renamed into place only when complete."""
    tmp = path.with_name(path.name + ".part")
    try:
        with tmp.open("wb") as f:
            yield f
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_file(release: Release, fmt: str, path: Path, *, graph: str | None = None, compress: bool = False) -> Path:
    with atomic_file(path) as f:
        if compress:
            with gzipped(f) as z:
                write_export(release, fmt, z, graph)
        else:
            write_export(release, fmt, f, graph)
    return path


def export_folder(release: Release, folder: Path, *, base_url: str | None = None) -> list[Path]:
    """Every format of the whole release, plain and gzipped, plus the VoID description: a dump folder."""
    from kg.dataset_description import DEFAULT_BASE_URL, description_bytes

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in EXPORT_FORMATS:
        try:
            check_size(release, fmt)
        except TooLarge:
            continue  # a dump folder of a big release has every format that streams
        name = f"evidence-kg.{SUFFIXES[fmt]}"
        written.append(export_file(release, fmt, folder / name))
        written.append(export_file(release, fmt, folder / (name + ".gz"), compress=True))
    written.append(folder / "void.ttl")
    write_atomically(folder / "void.ttl", description_bytes(release, "turtle", base_url=base_url or DEFAULT_BASE_URL))
    return sorted(written)


def write_atomically(path: Path, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)
