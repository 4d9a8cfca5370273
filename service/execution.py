"""Running a checked query on the release's store and letting Oxigraph serialize the answer.

One function does both, so that the caller can move the whole unit of work elsewhere (a thread today;
a worker process with a deadline for the limits of issue 9) without touching the routes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyoxigraph import NamedNode, QueryResultsFormat, QueryTriples, RdfFormat, Store, serialize

from kg.vocabulary import PREFIXES
from service.errors import ApiError


@dataclass(frozen=True)
class DatasetChoice:
    """The protocol's `default-graph-uri` / `named-graph-uri` (None: not given)."""

    default: tuple[str, ...] | None = None
    named: tuple[str, ...] | None = None

    @property
    def given(self) -> bool:
        return self.default is not None or self.named is not None


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


def write(result, fmt: QueryResultsFormat | RdfFormat) -> bytes:  # type: ignore[no-untyped-def]
    """Serialize with Oxigraph; the query is evaluated lazily, so evaluation errors surface here too."""
    try:
        if isinstance(result, QueryTriples):
            if not isinstance(fmt, RdfFormat):
                raise ApiError(406, "a CONSTRUCT or DESCRIBE query answers with RDF, not a results table")
            if fmt in (RdfFormat.TURTLE, RdfFormat.RDF_XML):
                return serialize(result, format=fmt, prefixes=PREFIXES) or b""
            return serialize(result, format=fmt) or b""
        if not isinstance(fmt, QueryResultsFormat):
            raise ApiError(406, "a SELECT or ASK query answers with a results table, not RDF")
        return result.serialize(format=fmt) or b""
    except (OSError, ValueError) as exc:
        raise ApiError(400, f"query evaluation failed: {exc}") from None


def answer(
    store: Store, text: str, fmt: QueryResultsFormat | RdfFormat, dataset: DatasetChoice = DatasetChoice(), has_own_dataset: bool = False
) -> bytes:
    return write(evaluate(store, text, dataset, has_own_dataset), fmt)
