"""The curated-source schema: what a curator may write in a source file, checked field by field.

Every model forbids unknown keys, so a typo is refused with its line rather than silently dropped.
Controlled values are closed lists; their RDF counterparts are in `kg.vocabulary`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from kg.values import Printed, PValue, parse_count, parse_p_value, parse_printed

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_COHORT_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*(/[a-z0-9]+(-[a-z0-9]+)*)+$")


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{value!r} is not a slug (lower-case ASCII words joined by '-')")
    return value


def _cohort_id(value: str) -> str:
    if not _COHORT_ID.match(value):
        raise ValueError(f"{value!r} is not a cohort id of the form '<study-id>/<slug>'")
    return value


def _lower(value: str) -> str:
    return value.strip().lower()


def _none_word(value: object) -> object:
    # A curator may write `none`/`null` for an absent optional value.
    if isinstance(value, str) and value.strip().lower() in {"none", "null", "n/a"}:
        return None
    return value


def _as_list(value: object) -> object:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


Slug = Annotated[str, AfterValidator(_slug)]
CohortId = Annotated[str, AfterValidator(_cohort_id)]
PrintedValue = Annotated[Printed, BeforeValidator(lambda v: parse_printed(v) if isinstance(v, str) else v)]
Count = Annotated[int, BeforeValidator(lambda v: parse_count(v) if isinstance(v, str) else v)]
CountOrState = Annotated[
    Printed | int,
    BeforeValidator(lambda v: (parse_count(v) if v.strip().isdigit() else parse_printed(v)) if isinstance(v, str) else v),
]
PValueField = Annotated[PValue, BeforeValidator(lambda v: parse_p_value(v) if isinstance(v, str) else v)]
StrList = Annotated[list[str], BeforeValidator(_as_list)]
SlugList = Annotated[list[Slug], BeforeValidator(_as_list)]
CohortList = Annotated[list[CohortId], BeforeValidator(_as_list)]
Ref = Annotated[str, AfterValidator(lambda v: v if v.isdigit() or v == "data-on-file" else _bad_ref(v))]
RefList = Annotated[list[Ref], BeforeValidator(_as_list)]
YesNo = Annotated[bool | None, BeforeValidator(lambda v: {"yes": True, "no": False}.get(v, v) if isinstance(v, str) else v)]
Opt = BeforeValidator(_none_word)


def _bad_ref(value: str) -> str:
    raise ValueError(f"{value!r} is not a reference number of the review (or 'data-on-file')")


IntervalKind = Literal["95% CI", "range", "IQR"]
Table = Annotated[
    str, AfterValidator(lambda v: v if re.match(r"^(Table [1-6]|none)$", v) else _bad(f"{v!r} is not 'Table 1'..'Table 6' or 'none'"))
]


def _bad(message: str) -> str:
    raise ValueError(message)


def _source(value: str) -> str:
    if not re.match(r"^(Table [1-6](, footnote [a-z])?|Text: .+)$", value):
        raise ValueError(f"{value!r} is not a source locator ('Table N', 'Table N, footnote x' or 'Text: <section>')")
    return value


Source = Annotated[str, AfterValidator(_source)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(Strict):
    source: Source
    quote: str = Field(min_length=1)
    # The reference(s) the review cites for this value, when not all of its study's (e.g. the text
    # cites ref 59 where Table 6 cites ref 61 for the same study).
    refs: RefList = []
    note: Annotated[str | None, Opt] = None
    printed_inconsistency: Annotated[str | None, Opt] = None

    @property
    def from_text(self) -> bool:
        return self.source.startswith("Text:")


class Interval(Strict):
    interval: Annotated[IntervalKind | None, Opt] = None
    lower: PrintedValue | None = None
    upper: PrintedValue | None = None

    @model_validator(mode="after")
    def _bounds_with_kind(self) -> Interval:
        has_bounds = self.lower is not None or self.upper is not None
        if self.interval and (self.lower is None or self.upper is None):
            raise ValueError(f"interval {self.interval!r} needs both lower and upper (a number, NE, NR or 'not reported')")
        if has_bounds and not self.interval:
            raise ValueError("lower/upper given without `interval:` (95% CI, range or IQR)")
        return self


class Term(Strict):
    id: Slug
    label: str
    wordings: Annotated[list[str], BeforeValidator(lambda v: [w.lower() for w in _as_list(v)])]


class Study(Strict):
    id: Slug
    label: str
    name: Annotated[str | None, Opt] = None
    protocol: Annotated[str | None, Opt] = None
    phase: Annotated[Literal["I", "I/II", "Ib/II", "II", "III"] | None, Opt] = None
    design: Literal["randomised", "single-arm", "observational", "pooled-analysis", "subgroup-analysis"]
    evidence_kind: Literal[
        "pivotal", "supportive", "long-term-follow-up", "retrospective", "single-centre", "country-specific", "real-world"
    ]
    based_on: SlugList = []
    reported_in: RefList = Field(min_length=1)
    registry: StrList = []
    country: StrList = []
    dose: Annotated[str | None, Opt] = None
    description: Annotated[str | None, Opt] = None
    table: Table
    section: Annotated[str | None, Opt] = None
    note: Annotated[str | None, Opt] = None


class Population(Strict):
    age_group: Annotated[Literal["adult", "pediatric", "mixed"] | None, Opt] = None
    age_band: Annotated[str | None, Opt] = None
    ph_status: Annotated[Literal["negative", "positive", "mixed", "not-reported"] | None, Opt] = None
    setting: Annotated[Literal["relapsed-refractory", "mrd-positive", "mixed"] | None, Opt] = None
    salvage_line: Annotated[Literal["first", "second-or-later"] | None, Opt] = None
    prior_relapses: Annotated[Literal["1", ">=2"] | None, Opt] = None
    prior_allohsct: YesNo = None
    subsequent_allohsct: YesNo = None
    response_status: Annotated[
        Literal[
            "cr-crh", "cr-crh-cri", "cr", "mrd-responder", "mrd-non-responder", "complete-mrd-responder",
            "complete-mrd-non-responder", "no-cr-crh", "no-cr",
        ]
        | None,
        Opt,
    ] = None
    remission: Annotated[Literal["first", "second-or-later"] | None, Opt] = None
    treatment_phase: Annotated[Literal["induction", "consolidation", "maintenance", "first-cycle"] | None, Opt] = None
    country: StrList = []


class Cohort(Provenance):
    id: CohortId
    study: Slug
    label: str
    parent: Annotated[CohortId | None, Opt] = None
    pooled_from: CohortList = []
    n: Annotated[CountOrState | None, Opt] = None
    enrolled: Annotated[CountOrState | None, Opt] = None
    arm: Annotated[Literal["blinatumomab", "chemotherapy", "blinatumomab-tki"] | None, Opt] = None
    population: Population = Population()
    table: Table

    @model_validator(mode="after")
    def _id_in_study(self) -> Cohort:
        if not self.id.startswith(self.study + "/"):
            raise ValueError(f"cohort id {self.id!r} must start with its study id {self.study!r} + '/'")
        for name in ("n", "enrolled"):
            value = getattr(self, name)
            if isinstance(value, Printed) and value.state != "NotReported":
                raise ValueError(f"{name} must be a whole number or 'not reported'")
        return self


class Outcome(Provenance, Interval):
    cohort: CohortId
    endpoint: Literal["OS", "RFS", "EFS", "DFS", "DoR", "NRM", "relapse"]
    statistic: Literal["median", "rate", "incidence"]
    estimate: PrintedValue
    unit: Literal["months", "percent"]
    timepoint_months: Annotated[PrintedValue | None, Opt] = None
    censoring: Annotated[Literal["censored-at-hsct", "not-censored-at-hsct"] | None, Opt] = None
    follow_up_months: Annotated[PrintedValue | None, Opt] = None
    analysed_in: Annotated[str | None, Opt] = None
    key: Annotated[Slug | None, Opt] = None

    @model_validator(mode="after")
    def _unit_fits(self) -> Outcome:
        if self.statistic == "median" and self.unit != "months":
            raise ValueError("a median survival or duration is in months")
        if self.statistic != "median" and self.unit != "percent":
            raise ValueError(f"a {self.statistic} is a percent")
        return self


ResponseCriterion = Literal[
    "CR/CRh", "CR/CRh/CRi", "CR/CRi", "CR", "MRD response", "complete MRD response", "MRD negativity"
]


class Response(Provenance, Interval):
    cohort: CohortId
    criterion: ResponseCriterion
    definition: Annotated[str | None, Opt] = None
    responders: Annotated[CountOrState | None, Opt] = None
    denominator: Annotated[CountOrState | None, Opt] = None
    percent: Annotated[PrintedValue | None, Opt] = None
    key: Annotated[Slug | None, Opt] = None

    @model_validator(mode="after")
    def _something(self) -> Response:
        if self.responders is None and self.percent is None:
            raise ValueError("a response needs responders, percent, or both")
        return self


Grade = Literal[">=3", ">=2", "3", "4", "2", "1-2", "any"]


class AdverseEvent(Provenance):
    cohort: CohortId
    term: Annotated[str, AfterValidator(_lower)]
    grade: Grade
    percent: Annotated[PrintedValue | None, Opt] = None
    count: Annotated[Count | None, Opt] = None
    phase: Annotated[Literal["induction", "consolidation", "maintenance", "first-cycle"] | None, Opt] = None
    key: Annotated[Slug | None, Opt] = None

    @model_validator(mode="after")
    def _something(self) -> AdverseEvent:
        if self.percent is None and self.count is None:
            raise ValueError("an adverse-event incidence needs a percent or a count")
        return self


class Comparison(Provenance, Interval):
    cohorts: Annotated[list[CohortId], Field(min_length=2, max_length=2)]
    endpoint: str
    measure: Literal["HR", "OR", "difference", "none"]
    estimate: Annotated[PrintedValue | None, Opt] = None
    p_value: Annotated[PValueField | None, Opt] = None
    test: Annotated[Literal["log-rank", "Wilcoxon", "stratified log-rank"] | None, Opt] = None
    sided: Annotated[Literal["one-sided", "two-sided"] | None, Opt] = None
    key: Annotated[Slug | None, Opt] = None

    @model_validator(mode="after")
    def _something(self) -> Comparison:
        if self.estimate is None and self.p_value is None:
            raise ValueError("a comparison needs an estimate, a p-value, or both")
        if self.measure != "none" and self.estimate is None:
            raise ValueError(f"measure {self.measure} needs an estimate")
        return self


class SourceFile(Strict):
    """One file under sources/review/."""

    publications: RefList = []
    studies: list[Study] = []
    cohorts: list[Cohort] = []
    outcomes: list[Outcome] = []
    responses: list[Response] = []
    adverse_events: list[AdverseEvent] = []
    comparisons: list[Comparison] = []
    terms: list[Term] = []


class Vocabulary(Strict):
    terms: list[Term]


class Publication(Strict):
    id: Annotated[Slug | None, Opt] = None
    number: Annotated[Ref | None, Opt] = None
    authors: Annotated[str | None, Opt] = None
    first_author: Annotated[str | None, Opt] = None
    title: str
    journal: Annotated[str | None, Opt] = None
    year: Annotated[str | None, Opt] = None
    volume: Annotated[str | None, Opt] = None
    pages: Annotated[str | None, Opt] = None
    article_number: Annotated[str | None, Opt] = None
    doi: Annotated[str | None, Opt] = None
    venue_note: Annotated[str | None, Opt] = None
    citation: Annotated[str | None, Opt] = None


class Publications(Strict):
    review: Publication
    references: list[Publication]
