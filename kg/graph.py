"""Curation -> RDF quads, with IRIs minted by rule (docs/model.md) and table/text conflicts recorded."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode, Quad

from kg import vocabulary as v
from kg.curation import AdverseEvent, Cohort, Comparison, Outcome, Population, Publication, Response
from kg.loading import Curation, Located, SourceErrors
from kg.sourcefile import SourceError
from kg.values import Printed

XSD_DECIMAL = NamedNode(v.XSD + "decimal")
XSD_INTEGER = NamedNode(v.XSD + "integer")
XSD_BOOLEAN = NamedNode(v.XSD + "boolean")
XSD_GYEAR = NamedNode(v.XSD + "gYear")

REVIEW = v.ident("publication/kantarjian-2023")


def publication_iri(number: str) -> NamedNode:
    return v.ident(f"publication/{number}" if number == "data-on-file" else f"publication/ref-{number}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class GraphBuilder:
    """Accumulates quads per named graph and refuses two things minted with one IRI.

    With a `sink`, full chunks of quads are handed over as they accumulate, so that a large graph is
    never held in memory whole (kg.dump writes them out)."""

    quads: list[Quad] = field(default_factory=list)
    minted: dict[str, str] = field(default_factory=dict)
    errors: list[SourceError] = field(default_factory=list)
    sink: Callable[[list[Quad]], None] | None = None
    chunk: int = 200_000

    def mint(self, path: str, located: Located | None = None) -> NamedNode:
        iri = v.ident(path)
        where = located.where if located else "(derived)"
        if path in self.minted:
            if located is not None:
                self.errors.append(
                    located.error(f"two records mint the same IRI <{iri.value}> (the other at {self.minted[path]}); add a distinct `key:`")
                )
        else:
            self.minted[path] = where
        return iri

    def add(self, s: NamedNode, p: NamedNode, o: NamedNode | Literal, graph: str = "data") -> None:
        self.quads.append(Quad(s, p, o, v.GRAPHS[graph]))
        if self.sink is not None and len(self.quads) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if self.sink is not None and self.quads:
            self.sink(self.quads)
            self.quads = []

    def text(self, s: NamedNode, p: str, value: str | None, graph: str = "data") -> None:
        if value is not None:
            self.add(s, v.ekg(p) if ":" not in p else NamedNode(p), Literal(value), graph)

    def term(self, s: NamedNode, p: str, table: dict[str, str], value: str | None) -> None:
        if value is not None:
            self.add(s, v.ekg(p), v.ekg(table[value]))

    def count(self, s: NamedNode, p: str, value: int | Printed | None) -> None:
        """A whole number, or a state such as not reported (`<p>State`)."""
        if isinstance(value, Printed):
            self.add(s, v.ekg(p + "State"), v.ekg(value.state or "NotReported"))
        elif value is not None:
            self.add(s, v.ekg(p), Literal(str(value), datatype=XSD_INTEGER))

    def printed(self, s: NamedNode, p: str, value: Printed | None) -> None:
        """A number as decimal plus its printed digits, or a state: `<p>`/`<p>Text` or `<p>State`."""
        if value is None:
            return
        if value.is_number:
            self.add(s, v.ekg(p), Literal(str(value.number), datatype=XSD_DECIMAL))
            self.add(s, v.ekg(p + "Text"), Literal(value.text or ""))
        else:
            self.add(s, v.ekg(p + "State"), v.ekg(value.state or "NotReported"))


def build_quads(curation: Curation, *, sink: Callable[[list[Quad]], None] | None = None) -> list[Quad]:
    """All data, provenance and conflict quads of a curation (the ontology and mappings are added elsewhere).

    With a `sink` they go to it in chunks and the list returned is empty; on SourceErrors some chunks
    may have been sunk already (the caller's staging folder is thrown away then)."""
    b = GraphBuilder(sink=sink)
    _publications(b, curation)
    _terms(b, curation)
    _studies(b, curation)
    _cohorts(b, curation)
    outcome_iris = [_outcome(b, curation, x) for x in curation.outcomes]
    response_iris = [_response(b, curation, x) for x in curation.responses]
    ae_iris = [_adverse_event(b, curation, x) for x in curation.adverse_events]
    for located in curation.comparisons:
        _comparison(b, curation, located)
    _conflicts(b, curation.outcomes, outcome_iris, _outcome_signature, _outcome_value)
    _conflicts(b, curation.responses, response_iris, _response_signature, _response_value)
    _conflicts(b, curation.adverse_events, ae_iris, _ae_signature, _ae_value)
    if b.errors:
        raise SourceErrors(b.errors)
    b.flush()
    return b.quads


def _publication(b: GraphBuilder, iri: NamedNode, pub: Publication) -> None:
    b.add(iri, v.RDF_TYPE, v.ekg("Publication"))
    who = pub.first_author.split(" ")[0] + " et al." if pub.first_author else pub.title
    label = f"{who} {pub.year}" if pub.year else who
    if pub.number:
        label += f" (ref {pub.number})" if pub.number.isdigit() else ""
        if pub.number.isdigit():
            b.add(iri, v.ekg("referenceNumber"), Literal(pub.number, datatype=XSD_INTEGER))
    b.add(iri, v.RDFS_LABEL, Literal(label))
    b.text(iri, v.DCTERMS + "title", pub.title)
    b.text(iri, "authorsAsPrinted", pub.authors)
    b.text(iri, "firstAuthor", pub.first_author)
    b.text(iri, "journal", pub.journal)
    if pub.year:
        b.add(iri, v.ekg("year"), Literal(pub.year, datatype=XSD_GYEAR))
    b.text(iri, "volume", pub.volume)
    b.text(iri, "pages", pub.pages)
    b.text(iri, "articleNumber", pub.article_number)
    b.text(iri, "venueNote", pub.venue_note)
    b.text(iri, "citationAsPrinted", pub.citation)
    if pub.doi:
        b.text(iri, "doi", pub.doi)


def _publications(b: GraphBuilder, c: Curation) -> None:
    b.minted["publication/kantarjian-2023"] = c.review.where
    _publication(b, REVIEW, c.review.item)
    b.add(REVIEW, v.RDF_TYPE, v.ekg("Review"))
    for number, located in c.references.items():
        iri = b.mint(publication_iri(number).value.removeprefix(v.ID), located)
        _publication(b, iri, located.item)
        b.add(REVIEW, NamedNode(v.DCTERMS + "references"), iri)


def _terms(b: GraphBuilder, c: Curation) -> None:
    for term_id, located in c.terms.items():
        iri = b.mint(f"adverse-event-term/{term_id}", located)
        b.add(iri, v.RDF_TYPE, v.ekg("AdverseEventTerm"))
        b.add(iri, v.RDFS_LABEL, Literal(located.item.label))
        for wording in located.item.wordings:
            b.add(iri, NamedNode(v.SKOS + "altLabel"), Literal(wording))


def _provenance(b: GraphBuilder, iri: NamedNode, located: Located, refs: Iterable[str]) -> None:
    item = located.item
    refs = item.refs or refs
    b.text(iri, "sourceLocator", item.source, "provenance")
    b.text(iri, "quote", item.quote, "provenance")
    b.add(iri, v.PROV_DERIVED, REVIEW, "provenance")
    b.add(iri, v.ekg("fromText"), Literal("true" if item.from_text else "false", datatype=XSD_BOOLEAN), "provenance")
    refs = sorted(set(refs), key=lambda r: (not r.isdigit(), int(r) if r.isdigit() else 0, r))
    for ref in refs:
        b.add(iri, v.ekg("reportedBy"), publication_iri(ref), "provenance")
    # The review's own citation of the row ("30;31"), precomputed: GROUP_CONCAT order differs between engines.
    b.text(iri, "referenceList", ";".join(r if r.isdigit() else "data on file" for r in refs))
    if item.note:
        b.add(iri, v.RDFS_COMMENT, Literal(item.note))
    if item.printed_inconsistency:
        b.text(iri, "printedInconsistency", item.printed_inconsistency)


def _studies(b: GraphBuilder, c: Curation) -> None:
    for study_id, located in c.studies.items():
        s = located.item
        iri = b.mint(f"study/{study_id}", located)
        b.add(iri, v.RDF_TYPE, v.ekg("Study"))
        b.add(iri, v.RDFS_LABEL, Literal(s.label))
        b.text(iri, "studyName", s.name)
        b.text(iri, "protocolCode", s.protocol)
        b.text(iri, "phase", s.phase)
        b.term(iri, "design", v.DESIGN, s.design)
        b.term(iri, "evidenceKind", v.EVIDENCE_KIND, s.evidence_kind)
        for other in s.based_on:
            b.add(iri, v.ekg("basedOnStudy"), v.ident(f"study/{other}"))
        for ref in s.reported_in:
            b.add(iri, v.ekg("reportedIn"), publication_iri(ref))
        for registry_id in s.registry:
            b.text(iri, "registryId", registry_id)
        for country in s.country:
            b.text(iri, "country", country)
        b.text(iri, "doseSchedule", s.dose)
        b.text(iri, v.DCTERMS + "description", s.description)
        if s.table != "none":
            b.text(iri, "reviewTable", s.table)
        b.text(iri, "reviewSection", s.section)
        b.add(iri, v.ekg("intervention"), v.ekg("Blinatumomab"))
        if s.note:
            b.add(iri, v.RDFS_COMMENT, Literal(s.note))
        b.add(iri, v.PROV_DERIVED, REVIEW, "provenance")


def effective_population(c: Curation, cohort: Cohort) -> Population:
    """A subgroup's population: its own fields over its parent's (materialised so queries need no path)."""
    chain = [cohort]
    while chain[-1].parent is not None and chain[-1].parent in c.cohorts:
        chain.append(c.cohorts[chain[-1].parent].item)
    merged: dict[str, object] = {}
    for member in reversed(chain):
        for name, value in member.population.model_dump().items():
            if value not in (None, []):
                merged[name] = value
    return Population.model_validate(merged)


def _cohorts(b: GraphBuilder, c: Curation) -> None:
    for cohort_id, located in c.cohorts.items():
        h = located.item
        iri = b.mint(f"cohort/{cohort_id}", located)
        b.add(iri, v.RDF_TYPE, v.ekg("Cohort"))
        b.add(iri, v.RDFS_LABEL, Literal(h.label))
        b.add(iri, v.ekg("inStudy"), v.ident(f"study/{h.study}"))
        if h.parent:
            b.add(iri, v.ekg("parentCohort"), v.ident(f"cohort/{h.parent}"))
        for other in h.pooled_from:
            b.add(iri, v.ekg("pooledFrom"), v.ident(f"cohort/{other}"))
        b.count(iri, "patientsTreated", h.n)
        b.count(iri, "patientsEnrolled", h.enrolled)
        b.term(iri, "arm", v.ARM, h.arm or "blinatumomab")
        b.add(iri, v.ekg("disease"), v.ekg("BCellALL"))
        pop = effective_population(c, h)
        b.term(iri, "ageGroup", v.AGE_GROUP, pop.age_group)
        b.text(iri, "ageBand", pop.age_band)
        b.term(iri, "phStatus", v.PH_STATUS, pop.ph_status)
        b.term(iri, "diseaseSetting", v.SETTING, pop.setting)
        b.term(iri, "salvageLine", v.SALVAGE_LINE, pop.salvage_line)
        b.text(iri, "priorRelapses", pop.prior_relapses)
        for prop, flag in (("priorAlloHSCT", pop.prior_allohsct), ("subsequentAlloHSCT", pop.subsequent_allohsct)):
            if flag is not None:
                b.add(iri, v.ekg(prop), Literal("true" if flag else "false", datatype=XSD_BOOLEAN))
        b.term(iri, "responseStatus", v.RESPONSE_STATUS, pop.response_status)
        b.term(iri, "remission", v.REMISSION, pop.remission)
        b.term(iri, "treatmentPhase", v.TREATMENT_PHASE, pop.treatment_phase)
        for country in pop.country:
            b.text(iri, "country", country)
        if h.table != "none":
            b.text(iri, "reviewTable", h.table)
        _provenance(b, iri, located, c.studies[h.study].item.reported_in)


def _interval(b: GraphBuilder, iri: NamedNode, item: Outcome | Response | Comparison) -> None:
    if item.interval:
        b.term(iri, "intervalKind", v.INTERVAL, item.interval)
        b.printed(iri, "lowerBound", item.lower)
        b.printed(iri, "upperBound", item.upper)


def _refs(c: Curation, cohort_id: str) -> list[str]:
    return c.studies[c.cohorts[cohort_id].item.study].item.reported_in


def _suffix(item: Outcome | Response | AdverseEvent | Comparison) -> str:
    return ("-text" if item.from_text else "") + (f"-{item.key}" if item.key else "")


def _measurement(b: GraphBuilder, iri: NamedNode, kind: str, cohort_iri: NamedNode, label: str) -> None:
    b.add(iri, v.RDF_TYPE, v.ekg(kind))
    b.add(iri, v.ekg("cohort"), cohort_iri)
    b.add(iri, v.RDFS_LABEL, Literal(label))


def _cohort_label(c: Curation, cohort_id: str) -> str:
    return c.cohorts[cohort_id].item.label


def _outcome(b: GraphBuilder, c: Curation, located: Located[Outcome]) -> NamedNode:
    o = located.item
    parts = [v.ENDPOINT[o.endpoint].lower(), o.statistic]
    if o.timepoint_months is not None:
        parts.append(f"{o.timepoint_months.text or o.timepoint_months.state}m")
    if o.censoring:
        parts.append(o.censoring)
    iri = b.mint(f"outcome/{o.cohort}/{'-'.join(parts)}{_suffix(o)}", located)
    what = f"{o.statistic} {o.endpoint}" + (f" at {o.timepoint_months.text} months" if o.timepoint_months else "")
    _measurement(b, iri, "OutcomeMeasurement", v.ident(f"cohort/{o.cohort}"), f"{_cohort_label(c, o.cohort)}: {what}")
    b.term(iri, "endpoint", v.ENDPOINT, o.endpoint)
    b.term(iri, "statistic", v.STATISTIC, o.statistic)
    b.printed(iri, "estimate", o.estimate)
    _interval(b, iri, o)
    b.term(iri, "unit", v.UNIT, o.unit)
    b.printed(iri, "timepointMonths", o.timepoint_months)
    b.term(iri, "censoring", v.CENSORING, o.censoring)
    b.printed(iri, "followUpMonths", o.follow_up_months)
    b.text(iri, "analysedIn", o.analysed_in)
    _provenance(b, iri, located, _refs(c, o.cohort))
    return iri


def _response(b: GraphBuilder, c: Curation, located: Located[Response]) -> NamedNode:
    r = located.item
    iri = b.mint(f"response/{r.cohort}/{_slug(r.criterion)}{_suffix(r)}", located)
    _measurement(b, iri, "ResponseMeasurement", v.ident(f"cohort/{r.cohort}"), f"{_cohort_label(c, r.cohort)}: {r.criterion}")
    b.text(iri, "responseCriterion", r.criterion)
    b.text(iri, "responseDefinition", r.definition)
    b.count(iri, "responders", r.responders)
    b.count(iri, "denominator", r.denominator)
    b.printed(iri, "percent", r.percent)
    _interval(b, iri, r)
    _provenance(b, iri, located, _refs(c, r.cohort))
    return iri


def _adverse_event(b: GraphBuilder, c: Curation, located: Located[AdverseEvent]) -> NamedNode:
    a = located.item
    term_id = c.wordings[a.term]
    phase = f"-{a.phase}" if a.phase else ""
    iri = b.mint(f"adverse-event/{a.cohort}/{term_id}-{v.GRADE_SLUG[a.grade]}{phase}{_suffix(a)}", located)
    label = f"{_cohort_label(c, a.cohort)}: grade {a.grade} {a.term}" + (f" ({a.phase})" if a.phase else "")
    _measurement(b, iri, "AdverseEventIncidence", v.ident(f"cohort/{a.cohort}"), label)
    b.add(iri, v.ekg("adverseEventTerm"), v.ident(f"adverse-event-term/{term_id}"))
    b.text(iri, "termAsPrinted", a.term)
    b.term(iri, "gradeThreshold", v.GRADE, a.grade)
    b.printed(iri, "percent", a.percent)
    b.count(iri, "count", a.count)
    b.term(iri, "treatmentPhase", v.TREATMENT_PHASE, a.phase)
    _provenance(b, iri, located, _refs(c, a.cohort))
    return iri


def _comparison(b: GraphBuilder, c: Curation, located: Located[Comparison]) -> NamedNode:
    m = located.item
    first, second = m.cohorts
    measure = m.measure.lower()
    iri = b.mint(f"comparison/{first}--vs--{second}/{_slug(m.endpoint)}-{measure}{_suffix(m)}", located)
    label = f"{_cohort_label(c, first)} vs {_cohort_label(c, second)}: {m.endpoint} ({m.measure})"
    b.add(iri, v.RDF_TYPE, v.ekg("Comparison"))
    b.add(iri, v.RDFS_LABEL, Literal(label))
    for prop, cohort_id in (("firstCohort", first), ("secondCohort", second)):
        b.add(iri, v.ekg(prop), v.ident(f"cohort/{cohort_id}"))
        b.add(iri, v.ekg("comparedCohort"), v.ident(f"cohort/{cohort_id}"))
    if m.endpoint in v.ENDPOINT:
        b.term(iri, "endpoint", v.ENDPOINT, m.endpoint)
    else:
        b.text(iri, "responseCriterion", m.endpoint)
    if m.measure != "none":
        b.term(iri, "effectMeasure", v.EFFECT_MEASURE, m.measure)
    b.printed(iri, "estimate", m.estimate)
    _interval(b, iri, m)
    if m.p_value:
        b.add(iri, v.ekg("pValue"), Literal(str(m.p_value.number), datatype=XSD_DECIMAL))
        b.text(iri, "pValueText", m.p_value.text)
        b.text(iri, "pValueRelation", m.p_value.relation)
    b.text(iri, "statisticalTest", m.test)
    b.text(iri, "sidedness", m.sided)
    _provenance(b, iri, located, sorted(set(_refs(c, first)) | set(_refs(c, second))))
    return iri


# --- table/text conflicts -------------------------------------------------------------------

def _printed_key(p: Printed | None) -> str:
    return "" if p is None else (p.text or p.state or "")


def _outcome_signature(o: Outcome) -> tuple:
    return (o.cohort, o.endpoint, o.statistic, _printed_key(o.timepoint_months), o.censoring, o.key)


def _outcome_value(o: Outcome) -> dict[str, str]:
    return {
        "estimate": _printed_key(o.estimate),
        "interval": f"{o.interval or ''} {_printed_key(o.lower)}–{_printed_key(o.upper)}" if o.interval else "",
    }


def _response_signature(r: Response) -> tuple:
    return (r.cohort, r.criterion, r.key)


def _response_value(r: Response) -> dict[str, str]:
    responders = _printed_key(r.responders) if isinstance(r.responders, Printed) else str(r.responders or "")
    return {"responders": responders, "percent": _printed_key(r.percent)}


def _ae_signature(a: AdverseEvent) -> tuple:
    return (a.cohort, a.term, a.grade, a.phase, a.key)


def _ae_value(a: AdverseEvent) -> dict[str, str]:
    return {"percent": _printed_key(a.percent), "count": str(a.count if a.count is not None else "")}


def _conflicts(b: GraphBuilder, records: list[Located], iris: list[NamedNode], signature, value) -> None:  # type: ignore[no-untyped-def]
    """A table value and a text value for the same thing that differ are a conflict, kept with both sources."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, located in enumerate(records):
        groups[signature(located.item)].append(i)
    for indices in groups.values():
        tables = [i for i in indices if not records[i].item.from_text]
        texts = [i for i in indices if records[i].item.from_text]
        for t in tables:
            for x in texts:
                a, z = value(records[t].item), value(records[x].item)
                # Compare only what both sides state: the text often gives less than the table cell.
                aspects = [k for k in a if a[k] and z[k] and a[k] != z[k]]
                if not aspects:
                    continue
                first, second = iris[t], iris[x]
                path = first.value.removeprefix(v.ID)
                iri = b.mint(f"conflict/{path}--text")
                b.add(iri, v.RDF_TYPE, v.ekg("Conflict"))
                b.add(iri, v.ekg("conflictingValue"), first)
                b.add(iri, v.ekg("conflictingValue"), second)
                for aspect in aspects:
                    b.text(iri, "conflictAspect", aspect)
                note = records[x].item.note or records[t].item.note
                summary = "; ".join(f"{k}: {a[k]} ({records[t].item.source}) vs {z[k]} ({records[x].item.source})" for k in aspects)
                b.add(iri, v.RDFS_LABEL, Literal(f"Table vs text: {summary}"))
                if note:
                    b.add(iri, v.RDFS_COMMENT, Literal(note))

