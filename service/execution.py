"""Running a query on the release's store, or on a remote SPARQL endpoint, and letting Oxigraph serialize
the answer, with a row cap.

`perform` is the whole unit of work of one request (safety check, evaluation, serialization) and runs
inside a query worker process (service.pool), where a deadline can really stop it. Its input and
output are small picklable records; the answer comes back as the bytes Oxigraph wrote. With a remote
endpoint (`kg serve --endpoint`) the worker sends the checked query there and Oxigraph reads the
answer back as it arrives, then writes it exactly as it writes the embedded store's: same formats,
same bytes, same row cap.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from pyoxigraph import (
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    RdfFormat,
    Store,
    parse_query_results,
    serialize,
)

from kg.engine import ACCEPT_ANY, ACCEPT_GRAPH, ACCEPT_TABLE, EngineError, RemoteEngine, is_table
from kg.vocabulary import PREFIXES
from service.checking import CheckedQuery, QueryChecker
from service.errors import ApiError
from service.negotiation import GRAPH_MEDIA, RESULT_MEDIA


@dataclass(frozen=True)
class DatasetChoice:
    """The protocol's `default-graph-uri` / `named-graph-uri` (None: not given)."""

    default: tuple[str, ...] | None = None
    named: tuple[str, ...] | None = None

    @property
    def given(self) -> bool:
        return self.default is not None or self.named is not None


@dataclass(frozen=True)
class Refusal:
    """An answer decided before the query runs (e.g. no acceptable format for this query form)."""

    status: int
    message: str


@dataclass(frozen=True)
class Task:
    text: str
    # The media type to answer SELECT/ASK with, and the one for CONSTRUCT/DESCRIBE (or why there is none):
    # the form is only known once the query is parsed, which happens in the worker.
    result_media: str | Refusal
    graph_media: str | Refusal
    dataset: DatasetChoice = DatasetChoice()
    check: bool = True  # False: trusted text (stored queries) or a verdict the caller already has
    has_own_dataset: bool = False  # (when check is False) the query has FROM / FROM NAMED
    max_rows: int = 10_000
    remote: RemoteEngine | None = None  # run on this SPARQL endpoint instead of the worker's store
    verdict: CheckedQuery | None = None  # (when check is False) the checker's verdict, if the caller has it


@dataclass(frozen=True)
class Outcome:
    body: bytes
    media: str
    truncated: bool
    form: str | None  # the checker's verdict (select, ask, ...) to cache, when it ran
    has_own_dataset: bool
    verdict: CheckedQuery | None = None  # the checker's whole verdict, when it ran


class _RowsFull(Exception):
    """Raised from inside Oxigraph's serializer once enough rows are written: evaluation stops there."""


class _CappedTsv:
    """A file-like sink for TSV results that keeps the header and at most `max_rows` rows.

    One row is one line: Oxigraph's TSV writes terms in N-Triples syntax, with newlines escaped."""

    def __init__(self, max_rows: int) -> None:
        self.max_lines = max_rows + 1  # + the header
        self.chunks: list[bytes] = []
        self.lines = 0
        self.truncated = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        if not chunk:
            return 0
        room = self.max_lines - self.lines
        newlines = chunk.count(b"\n")
        if newlines >= room and (newlines > room or not chunk.endswith(b"\n")):
            # More than room: keep whole lines up to the cap and stop the query.
            cut = -1
            for _ in range(room):
                cut = chunk.index(b"\n", cut + 1)
            self.chunks.append(chunk[: cut + 1])
            self.lines += room
            self.truncated = True
            raise _RowsFull
        self.chunks.append(chunk)
        self.lines += newlines
        return len(data)

    def flush(self) -> None:
        pass

    def value(self) -> bytes:
        return b"".join(self.chunks)


def evaluate(store: Store, text: str, dataset: DatasetChoice, has_own_dataset: bool):  # type: ignore[no-untyped-def]
    options: dict = {}
    if dataset.given:  # the protocol's dataset overrides the query's FROM / FROM NAMED
        options["default_graph"] = [NamedNode(g) for g in dataset.default or ()]
        options["named_graphs"] = [NamedNode(g) for g in dataset.named or ()]
    elif not has_own_dataset:
        options["use_default_graph_as_union"] = True  # (the union flag would override FROM, so only without it)
    try:
        return store.query(text, **options)
    except SyntaxError as exc:
        raise ApiError(400, f"malformed query: {exc}") from None


def write(result, fmt: QueryResultsFormat | RdfFormat, max_rows: int) -> tuple[bytes, bool]:  # type: ignore[no-untyped-def]
    """Serialize with Oxigraph, at most `max_rows` rows or triples; the query is evaluated lazily, so
    evaluation errors surface here, and stopping the serialization stops the evaluation."""
    try:
        return _serialized(result, fmt, max_rows)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ApiError(400, f"query evaluation failed: {exc}") from None


def _serialized(result, fmt: QueryResultsFormat | RdfFormat, max_rows: int) -> tuple[bytes, bool]:  # type: ignore[no-untyped-def]
    if not is_table(result):  # CONSTRUCT / DESCRIBE: the store's QueryTriples, or triples parsed from an endpoint
        if not isinstance(fmt, RdfFormat):
            raise ApiError(406, "a CONSTRUCT or DESCRIBE query answers with RDF, not a results table")
        triples = list(itertools.islice(result, max_rows + 1))
        truncated = len(triples) > max_rows
        del triples[max_rows:]
        prefixes = {"prefixes": PREFIXES} if fmt in (RdfFormat.TURTLE, RdfFormat.RDF_XML) else {}
        return serialize(triples, format=fmt, **prefixes) or b"", truncated
    if not isinstance(fmt, QueryResultsFormat):
        raise ApiError(406, "a SELECT or ASK query answers with a results table, not RDF")
    if isinstance(result, QueryBoolean):
        return result.serialize(format=fmt) or b"", False
    # Rows go out as TSV through a counting sink, then (unless TSV was asked for) Oxigraph reads them
    # back and writes the requested format: lossless, and all in Rust.
    sink = _CappedTsv(max_rows)
    try:
        result.serialize(sink, format=QueryResultsFormat.TSV)
    except _RowsFull:
        pass
    tsv = sink.value()
    if fmt == QueryResultsFormat.TSV:
        return tsv, sink.truncated
    return parse_query_results(tsv, format=QueryResultsFormat.TSV).serialize(format=fmt) or b"", sink.truncated


def _media(choice: str | Refusal) -> str:
    if isinstance(choice, Refusal):
        raise ApiError(choice.status, choice.message)
    return choice


def _format(result, task: Task) -> tuple[str, QueryResultsFormat | RdfFormat]:  # type: ignore[no-untyped-def]
    """The media type the client negotiated for this form of answer, and the format that writes it."""
    if is_table(result):
        media = _media(task.result_media)
        return media, RESULT_MEDIA[media]
    media = _media(task.graph_media)
    return media, GRAPH_MEDIA[media]


def perform(store: Store, checker: QueryChecker, task: Task) -> Outcome:
    """Check (unless trusted), evaluate and serialize one query: the work a deadline may cut short."""
    verdict, has_own_dataset = None, task.has_own_dataset
    if task.check:
        verdict = checker.check(task.text)
        has_own_dataset = verdict.has_dataset
    if task.remote is not None:
        body, media, truncated = _remotely(task.remote, task, verdict or task.verdict, has_own_dataset)
    else:
        result = evaluate(store, task.text, task.dataset, has_own_dataset)
        media, fmt = _format(result, task)
        body, truncated = write(result, fmt, task.max_rows)
    form = verdict.form if verdict else None
    return Outcome(body=body, media=media, truncated=truncated, form=form, has_own_dataset=has_own_dataset, verdict=verdict)


def _remotely(engine: RemoteEngine, task: Task, verdict: CheckedQuery | None, has_own_dataset: bool) -> tuple[bytes, str, bool]:
    """The already-checked query on the endpoint; its answer written as the client asked. Errors name the endpoint."""
    form = verdict.form if verdict else None
    # A store answers in the first format of Accept that fits the query's form (Virtuoso: even a CONSTRUCT as SPARQL
    # JSON), so ask only for the formats of this form: the checker's verdict, or what the caller can take.
    if form is not None:
        graph = form in ("construct", "describe")
        _media(task.graph_media if graph else task.result_media)  # no acceptable format: refused before the endpoint is asked
        accept = ACCEPT_GRAPH if graph else ACCEPT_TABLE
    elif isinstance(task.graph_media, Refusal):  # e.g. stored queries and the pages' SELECTs
        accept = ACCEPT_TABLE
    elif isinstance(task.result_media, Refusal):
        accept = ACCEPT_GRAPH
    else:
        accept = ACCEPT_ANY
    default, named = task.dataset.default, task.dataset.named
    if not task.dataset.given and verdict is not None and verdict.has_dataset:
        default, named = verdict.from_graphs, verdict.from_named  # the query's FROM / FROM NAMED, said as the protocol says them
    try:
        with engine.answer(task.text, default_graphs=default, named_graphs=named, own_dataset=has_own_dataset, accept=accept) as result:
            media, fmt = _format(result, task)
            try:
                body, truncated = _serialized(result, fmt, task.max_rows)
            except OSError as exc:  # the connection broke or went silent while the rows streamed in
                raise engine.failure(exc) from None
            except (ValueError, SyntaxError) as exc:  # the rows are parsed as they are written
                raise engine.malformed(exc) from None
    except EngineError as exc:
        raise ApiError(exc.status, str(exc)) from None
    return body, media, truncated
