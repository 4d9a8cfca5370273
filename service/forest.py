"""The rows of a forest plot: the stored query `forest-plot`, run by the same engine code as /queries, in plot order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pyoxigraph import Literal, NamedNode

from kg.querylib import QueryError, StoredQuery
from kg.vocabulary import EKG
from service.errors import ApiError
from service.page_queries import select
from service.presentation import link
from service.published import Published

QUERY = "forest-plot"
# The study of each plotted measurement: the stored query names studies by label, the plot links to their pages.
STUDY_OF = f"""PREFIX ekg: <{EKG}>
SELECT ?measurement ?study WHERE {{ VALUES ?measurement {{ {{values}} }} ?measurement ekg:cohort/ekg:inStudy ?study }}"""


@dataclass(frozen=True)
class ForestRow:
    label: str
    study: str
    cohort: str
    n: int | None
    estimate: float | None
    lower: float | None
    upper: float | None
    estimate_text_printed: str | None  # the digits as the review prints them (4.0, not 4)
    lower_text: str | None
    upper_text: str | None
    estimate_status: str | None  # NR, NE, not reported: why there is no number
    lower_status: str | None
    upper_status: str | None
    interval: str | None  # 95% CI, range, IQR (None: no interval printed)
    censoring: str | None
    evidence_kind: str
    source: str
    ref: str
    measurement: str
    study_iri: str

    @property
    def study_href(self) -> str:
        return link(self.study_iri)

    @property
    def source_href(self) -> str:
        return link(self.measurement)

    def estimate_text(self) -> str:
        """`6.1 (4.2–7.5)`: the median and its bounds, states (NE, NR) where the review prints no number."""
        if self.estimate is None:
            return self.estimate_status or "not reported"
        text = self.estimate_text_printed or _number(self.estimate)
        if self.interval is None:
            return text
        if self.lower is None and self.upper is None and self.lower_status == self.upper_status == "not reported":
            return f"{text} (interval not reported)"
        low = (self.lower_text or _number(self.lower)) if self.lower is not None else (self.lower_status or "?")
        high = (self.upper_text or _number(self.upper)) if self.upper is not None else (self.upper_status or "?")
        return f"{text} ({low}–{high})"


def _number(value: float) -> str:
    return f"{Decimal(str(value)).normalize():f}"


def _value(solution, name: str) -> str | None:  # type: ignore[no-untyped-def]
    term = solution[name]
    return term.value if term is not None else None


def _float(solution, name: str) -> float | None:  # type: ignore[no-untyped-def]
    term = solution[name]
    return float(term.value) if isinstance(term, Literal) else None


async def fetch(pub: Published, query: StoredQuery, values: Mapping[str, str]) -> list[ForestRow]:
    """The query's rows for these filter values (400 for a bad value), in plot order."""
    try:
        text = query.bind(dict(values))
    except QueryError as exc:
        raise ApiError(400, str(exc)) from None
    solutions = list((await select(pub, text))[0])
    studies = await _studies(pub, [s["measurement"] for s in solutions])
    rows = [
        ForestRow(
            label=_value(s, "label") or "",
            study=_value(s, "study") or "",
            cohort=_value(s, "cohort") or "",
            n=int(s["n"].value) if s["n"] is not None else None,
            estimate=_float(s, "estimate"),
            lower=_float(s, "lower"),
            upper=_float(s, "upper"),
            estimate_text_printed=_value(s, "estimate_text"),
            lower_text=_value(s, "lower_text"),
            upper_text=_value(s, "upper_text"),
            estimate_status=_value(s, "estimate_status"),
            lower_status=_value(s, "lower_status"),
            upper_status=_value(s, "upper_status"),
            interval=_value(s, "interval"),
            censoring=_value(s, "censoring"),
            evidence_kind=_value(s, "evidence_kind") or "other",
            source=_value(s, "source") or "",
            ref=_value(s, "ref") or "",
            measurement=s["measurement"].value,
            study_iri=studies.get(s["measurement"].value, ""),
        )
        for s in solutions
    ]
    return ordered(rows, kind_order(query))


async def _studies(pub: Published, measurements: list[NamedNode]) -> dict[str, str]:
    if not measurements:
        return {}
    text = STUDY_OF.replace("{values}", " ".join(str(m) for m in measurements))  # NamedNodes in N-Triples form
    return {s["measurement"].value: s["study"].value for s in (await select(pub, text))[0]}


def kind_order(query: StoredQuery) -> tuple[str, ...]:
    """Evidence kinds in the order the query declares them (pivotal first): the plot's groups."""
    for p in query.parameters:
        if p.name == "evidence_kind":
            return p.allowed
    return ()


def ordered(rows: list[ForestRow], kinds: tuple[str, ...]) -> list[ForestRow]:
    """Grouped by evidence kind, then by median: numbers ascending, then not reached, then no estimate."""

    def key(row: ForestRow) -> tuple:
        group = kinds.index(row.evidence_kind) if row.evidence_kind in kinds else len(kinds)
        if row.estimate is not None:
            rank: tuple = (0, row.estimate)
        elif row.estimate_status == "NR":
            rank = (1, 0.0)
        else:
            rank = (2, 0.0)
        return (group, row.evidence_kind, *rank, row.label, row.measurement)

    return sorted(rows, key=key)
