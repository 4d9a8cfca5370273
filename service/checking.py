"""Refuse what a read-only, closed endpoint must never run, before the engine sees it.

The query is parsed (rdflib's SPARQL grammar) and its syntax tree walked: SERVICE anywhere (sub-queries,
FILTER EXISTS, OPTIONAL...) is refused, FROM / FROM NAMED must name this dataset's own graphs, and text
that is an update rather than a query is refused as such. Matching keywords in the text would miss
escapes, comments and nesting; the parse tree does not. pyoxigraph itself would call out for SERVICE.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from pyparsing import ParseBaseException, ParseResults
from rdflib.plugins.sparql.algebra import translatePrologue
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from service.errors import ApiError

FORMS = {"SelectQuery": "select", "AskQuery": "ask", "ConstructQuery": "construct", "DescribeQuery": "describe"}
READ_ONLY = "this endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, DROP, CREATE, ADD, MOVE, COPY) is refused"


@dataclass(frozen=True)
class CheckedQuery:
    form: str  # select, ask, construct or describe
    has_dataset: bool  # the query names its own FROM / FROM NAMED graphs
    # Those graphs (absolute IRIs): a remote store is sent them as the protocol's dataset, which some stores
    # honour where they ignore FROM (Oxigraph's `--union-default-graph` reads the union regardless).
    from_graphs: tuple[str, ...] = ()
    from_named: tuple[str, ...] = ()

    @property
    def returns_graph(self) -> bool:
        return self.form in ("construct", "describe")


def _nodes(tree: object) -> Iterator[CompValue]:
    """Every CompValue in the parse tree, iteratively (a deeply nested query must not blow the stack)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            yield node
            stack.extend(node.values())
        elif isinstance(node, (list, tuple, ParseResults)):
            stack.extend(node)


class QueryChecker:
    def __init__(self, allowed_graphs: frozenset[str], cache_size: int = 512) -> None:
        self.allowed_graphs = allowed_graphs
        self._cache: OrderedDict[str, CheckedQuery] = OrderedDict()
        self._cache_size = cache_size

    def cached(self, text: str) -> CheckedQuery | None:
        """The verdict on a text already checked, without parsing it again (cheap enough for the event loop)."""
        return self._cache.get(text)

    def check(self, text: str) -> CheckedQuery:
        """Parse and walk `text` (costly, ~0.1 ms a character: the service runs it in a query worker); ApiError if refused."""
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        checked = self._check(text)  # refusals are not cached: they raise
        self.remember(text, checked)
        return checked

    def remember(self, text: str, checked: CheckedQuery) -> None:
        """Keep a verdict reached elsewhere (a query worker runs the check under the query's deadline)."""
        self._cache[text] = checked
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)  # oldest first; good enough, and safe from several threads

    def _parse(self, text: str) -> object:
        # No lock: pyparsing without packrat keeps no state between parses, and threads keep
        # other requests moving while a long query is parsed (rdflib's parser costs ~0.1 ms a character).
        try:
            return parseQuery(text)
        except ParseBaseException as exc:
            if _is_update(text):
                raise ApiError(403, READ_ONLY) from None
            raise ApiError(400, f"malformed query: {exc}") from None
        except RecursionError:
            raise ApiError(400, "malformed query: nested too deeply to check") from None
        except Exception as exc:  # noqa: BLE001 - rdflib raises plain exceptions for some bad terms
            raise ApiError(400, f"malformed query: {exc}") from None

    def _check(self, text: str) -> CheckedQuery:
        tree = self._parse(text)
        form = None
        dataset: dict[str, set[str]] = {"FROM": set(), "FROM NAMED": set()}
        for node in _nodes(tree):
            if node.name == "ServiceGraphPattern":
                raise ApiError(403, f"SERVICE <{node.get('term')}> is refused: this endpoint never queries other endpoints")
            if node.name == "DatasetClause":
                keyword, graph = self._check_graph(tree, node)
                dataset[keyword].add(graph)
            if node.name in FORMS:
                form = form or FORMS[node.name]
        if form is None:
            raise ApiError(400, "malformed query: not a SELECT, ASK, CONSTRUCT or DESCRIBE query")
        return CheckedQuery(
            form=form,
            has_dataset=any(dataset.values()),
            from_graphs=tuple(sorted(dataset["FROM"])),
            from_named=tuple(sorted(dataset["FROM NAMED"])),
        )

    def _check_graph(self, tree: object, clause: CompValue) -> tuple[str, str]:
        """FROM / FROM NAMED must name one of our graphs, once prefixes and BASE are applied."""
        keyword = "FROM" if "default" in clause else "FROM NAMED"  # (CompValue.get returns the key itself when absent)
        written = clause["default"] if "default" in clause else clause["named"]
        try:
            graph = str(translatePrologue(tree[0], None).absolutize(written))  # type: ignore[index]
        except Exception as exc:  # noqa: BLE001 - an undeclared prefix, a bad IRI
            raise ApiError(400, f"malformed query: {keyword} {exc}") from None
        if graph not in self.allowed_graphs:
            raise ApiError(400, f"{keyword} <{graph[:300]}> is not one of this dataset's graphs: {', '.join(sorted(self.allowed_graphs))}")
        return keyword, graph


def _is_update(text: str) -> bool:
    """Whether `text` is SPARQL Update with at least one operation (empty text parses as an empty update)."""
    try:
        update = parseUpdate(text)
    except Exception:  # noqa: BLE001 - not an update either: the query's own parse error is the message
        return False
    return "request" in update and len(update["request"]) > 0
