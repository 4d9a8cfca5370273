"""Study and cohort cards: the tables a reader wants on a study's or cohort's page (publications, cohorts,
outcomes, responses, adverse events, external links), each from one query with the entity substituted in.

Values are shown as the review prints them (the `...Text` literals, states such as NE/NR by notation).
"""

from __future__ import annotations

from pyoxigraph import NamedNode, Store

from kg.vocabulary import DCTERMS, EKG, RDFS, SKOS
from service.presentation import link

PREFIXES = f"PREFIX ekg: <{EKG}>\nPREFIX rdfs: <{RDFS}>\nPREFIX skos: <{SKOS}>\nPREFIX dcterms: <{DCTERMS}>\n"


def _sparql(text: str) -> str:
    return PREFIXES + text


MAPPINGS = "skos:exactMatch|skos:closeMatch|skos:broadMatch|skos:narrowMatch|skos:relatedMatch"

# ?study (and, on a cohort's page, ?c) are substituted; `?c ekg:inStudy ?study` then picks the cohorts.
EXTERNAL = _sparql("""SELECT ?external ?label ?match WHERE {
  VALUES (?p ?match) { (skos:exactMatch "exact") (skos:closeMatch "close") (skos:broadMatch "broad") (skos:narrowMatch "narrow")
                       (skos:relatedMatch "related") }
  ?entity ?p ?external . OPTIONAL { ?external rdfs:label ?label }
} ORDER BY ?match ?external""")
STUDY_FACTS = _sparql("""SELECT ?name ?protocol ?phase ?design ?kind ?table ?section ?description ?dose ?comment WHERE {
  OPTIONAL { ?study ekg:studyName ?name } OPTIONAL { ?study ekg:protocolCode ?protocol } OPTIONAL { ?study ekg:phase ?phase }
  OPTIONAL { ?study ekg:design/rdfs:label ?design } OPTIONAL { ?study ekg:evidenceKind/rdfs:label ?kind }
  OPTIONAL { ?study ekg:reviewTable ?table } OPTIONAL { ?study ekg:reviewSection ?section }
  OPTIONAL { ?study dcterms:description ?description } OPTIONAL { ?study ekg:doseSchedule ?dose } OPTIONAL { ?study rdfs:comment ?comment }
} LIMIT 1""")
BASED_ON = _sparql("""SELECT ?other ?label ?direction WHERE {
  { ?study ekg:basedOnStudy ?other BIND("draws on" AS ?direction) }
  UNION { ?other ekg:basedOnStudy ?study BIND("drawn on by" AS ?direction) }
  ?other rdfs:label ?label
} ORDER BY ?direction ?label ?other""")
PUBLICATIONS = _sparql("""SELECT ?pub ?label ?number ?title ?journal ?year ?citation WHERE {
  ?study ekg:reportedIn ?pub . ?pub rdfs:label ?label .
  OPTIONAL { ?pub ekg:referenceNumber ?number } OPTIONAL { ?pub dcterms:title ?title } OPTIONAL { ?pub ekg:journal ?journal }
  OPTIONAL { ?pub ekg:year ?year } OPTIONAL { ?pub ekg:citationAsPrinted ?citation }
} ORDER BY ?number ?pub""")
PUBLICATION_LINKS = _sparql(f"""SELECT ?pub ?external ?label WHERE {{
  ?study ekg:reportedIn ?pub . ?pub {MAPPINGS} ?external . OPTIONAL {{ ?external rdfs:label ?label }}
}} ORDER BY ?pub ?external""")
COHORTS = _sparql("""SELECT ?c ?label ?n ?n_status ?parent ?parent_label ?arm ?age ?age_band ?ph ?setting ?line ?response ?table WHERE {
  ?c a ekg:Cohort ; ekg:inStudy ?study ; rdfs:label ?label .
  OPTIONAL { ?c ekg:patientsTreated ?n } OPTIONAL { ?c ekg:patientsTreatedState/skos:notation ?n_status }
  OPTIONAL { ?c ekg:parentCohort ?parent . ?parent rdfs:label ?parent_label }
  OPTIONAL { ?c ekg:arm/skos:notation ?arm } OPTIONAL { ?c ekg:ageGroup/skos:notation ?age } OPTIONAL { ?c ekg:ageBand ?age_band }
  OPTIONAL { ?c ekg:phStatus/skos:notation ?ph } OPTIONAL { ?c ekg:diseaseSetting/skos:notation ?setting }
  OPTIONAL { ?c ekg:salvageLine/skos:notation ?line } OPTIONAL { ?c ekg:responseStatus/skos:notation ?response }
  OPTIONAL { ?c ekg:reviewTable ?table }
} ORDER BY ?label ?c""")
SUBGROUPS = _sparql("""SELECT ?sub ?label ?n WHERE {
  ?sub ekg:parentCohort ?c ; rdfs:label ?label OPTIONAL { ?sub ekg:patientsTreated ?n }
}
ORDER BY ?label ?sub""")
OUTCOMES = _sparql("""SELECT ?m ?cohort ?c ?endpoint ?statistic ?estimate ?lower ?upper ?interval ?timepoint ?unit ?censoring
       ?source ?quote
WHERE {
  ?c ekg:inStudy ?study ; rdfs:label ?cohort . ?m a ekg:OutcomeMeasurement ; ekg:cohort ?c ; ekg:endpoint/ekg:abbreviation ?endpoint ;
     ekg:statistic/skos:notation ?statistic ; ekg:sourceLocator ?source .
  OPTIONAL { ?m ekg:quote ?quote }
  OPTIONAL { ?m ekg:estimateText ?et } OPTIONAL { ?m ekg:estimateState/skos:notation ?es } BIND(COALESCE(?et, ?es, "") AS ?estimate)
  OPTIONAL { ?m ekg:lowerBoundText ?lt } OPTIONAL { ?m ekg:lowerBoundState/skos:notation ?ls } BIND(COALESCE(?lt, ?ls, "") AS ?lower)
  OPTIONAL { ?m ekg:upperBoundText ?ut } OPTIONAL { ?m ekg:upperBoundState/skos:notation ?us } BIND(COALESCE(?ut, ?us, "") AS ?upper)
  OPTIONAL { ?m ekg:intervalKind/skos:notation ?interval } OPTIONAL { ?m ekg:timepointMonths ?timepoint }
  OPTIONAL { ?m ekg:unit/skos:notation ?unit } OPTIONAL { ?m ekg:censoring/rdfs:label ?censoring }
} ORDER BY ?cohort ?endpoint ?statistic ?timepoint ?censoring ?source ?m""")
RESPONSES = _sparql("""SELECT ?m ?cohort ?c ?criterion ?responders ?denominator ?percent ?lower ?upper ?interval ?source ?quote WHERE {
  ?c ekg:inStudy ?study ; rdfs:label ?cohort . ?m a ekg:ResponseMeasurement ; ekg:cohort ?c ; ekg:responseCriterion ?criterion ;
     ekg:sourceLocator ?source .
  OPTIONAL { ?m ekg:quote ?quote } OPTIONAL { ?m ekg:responders ?responders } OPTIONAL { ?m ekg:denominator ?denominator }
  OPTIONAL { ?m ekg:percentText ?percent } OPTIONAL { ?m ekg:intervalKind/skos:notation ?interval }
  OPTIONAL { ?m ekg:lowerBoundText ?lower } OPTIONAL { ?m ekg:upperBoundText ?upper }
} ORDER BY ?cohort ?criterion ?source ?m""")
ADVERSE_EVENTS = _sparql("""SELECT ?m ?cohort ?c ?term ?term_label ?printed ?grade ?percent ?count ?phase ?source ?quote WHERE {
  ?c ekg:inStudy ?study ; rdfs:label ?cohort . ?m a ekg:AdverseEventIncidence ; ekg:cohort ?c ; ekg:termAsPrinted ?printed ;
     ekg:adverseEventTerm ?term ; ekg:gradeThreshold/ekg:notation ?grade ; ekg:sourceLocator ?source .
  OPTIONAL { ?term rdfs:label ?term_label } OPTIONAL { ?m ekg:quote ?quote }
  OPTIONAL { ?m ekg:percentText ?percent } OPTIONAL { ?m ekg:count ?count } OPTIONAL { ?m ekg:treatmentPhase/skos:notation ?phase }
} ORDER BY ?cohort ?grade ?printed ?source ?m""")
STUDY_OF_COHORT = _sparql("SELECT ?study ?label WHERE { ?c ekg:inStudy ?study . ?study rdfs:label ?label } LIMIT 1")


def _rows(store: Store, text: str, **bound: NamedNode) -> list[dict[str, str]]:
    """Each solution as plain strings ("" for unbound); IRIs stay IRIs, turned into links by the template."""
    # Bound by a VALUES block at the top of the WHERE clause (Oxigraph's substitutions only bind projected variables).
    names = " ".join(f"?{k}" for k in bound)
    terms = " ".join(str(v) for v in bound.values())  # NamedNodes in N-Triples form: cannot break out of the IRI
    text = text.replace("WHERE {", f"WHERE {{\n  VALUES ({names}) {{ ({terms}) }}", 1)
    result = store.query(text, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: (s[n].value if s[n] is not None else "") for n in names} for s in result]


def _external(store: Store, node: NamedNode) -> list[dict[str, str]]:
    return [{**r, "href": r["external"], "text": _short_link(r["external"])} for r in _rows(store, EXTERNAL, entity=node)]


def _measurements(store: Store, bound: dict[str, NamedNode]) -> dict[str, list[dict[str, str]]]:
    tables = {"outcomes": OUTCOMES, "responses": RESPONSES, "adverse_events": ADVERSE_EVENTS}
    out = {}
    for name, text in tables.items():
        rows = _rows(store, text, **bound)
        for r in rows:
            r["href"], r["cohort_href"] = link(r["m"]), link(r["c"])
            if "term" in r:
                r["term_href"] = link(r["term"])
        out[name] = rows
    return out


def study_card(store: Store, study: NamedNode) -> dict:
    facts = _rows(store, STUDY_FACTS, study=study)
    publications = _rows(store, PUBLICATIONS, study=study)
    links: dict[str, list[dict[str, str]]] = {}
    for r in _rows(store, PUBLICATION_LINKS, study=study):
        links.setdefault(r["pub"], []).append({"href": r["external"], "text": _short_link(r["external"])})
    for p in publications:
        p["href"], p["links"] = link(p["pub"]), links.get(p["pub"], [])
    cohorts = _rows(store, COHORTS, study=study)
    for c in cohorts:
        c["href"], c["parent_href"] = link(c["c"]), link(c["parent"]) if c["parent"] else ""
    related = [{**r, "href": link(r["other"])} for r in _rows(store, BASED_ON, study=study)]
    return {
        "kind": "study",
        "facts": facts[0] if facts else {},
        "external": _external(store, study),
        "publications": publications,
        "cohorts": cohorts,
        "related": related,
        **_measurements(store, {"study": study}),
    }


def cohort_card(store: Store, cohort: NamedNode) -> dict:
    found = _rows(store, STUDY_OF_COHORT, c=cohort)
    if not found:
        return {}
    study = NamedNode(found[0]["study"])
    cohorts = _rows(store, COHORTS, study=study, c=cohort)
    me = cohorts[0] if cohorts else {}
    if me:
        me["parent_href"] = link(me["parent"]) if me["parent"] else ""
    subgroups = [{**r, "href": link(r["sub"])} for r in _rows(store, SUBGROUPS, c=cohort)]
    return {
        "kind": "cohort",
        "study": {"label": found[0]["label"], "href": link(study.value)},
        "cohort": me,
        "subgroups": subgroups,
        "external": _external(store, cohort),
        **_measurements(store, {"study": study, "c": cohort}),
    }


def _short_link(iri: str) -> str:
    """`doi:10.1056/...`, `PubMed 25524800`: readable names for the usual external identifiers."""
    known = (
        ("https://doi.org/", "doi:"),
        ("https://bioregistry.io/pubmed:", "PubMed "),
        ("http://europepmc.org/articles/", ""),
        ("https://www.clinicaltrials.gov/study/", "ClinicalTrials.gov "),
        ("https://www.clinicaltrialsregister.eu/ctr-search/search?query=", "EudraCT "),
    )
    for prefix, name in known:
        if iri.startswith(prefix):
            return name + iri[len(prefix) :]
    return iri


def card(store: Store, path: str, node: NamedNode) -> tuple[str, dict]:
    """The template and extra context for an entity's HTML page: a card for studies and cohorts, else the plain page."""
    if path.startswith("study/"):
        return "study.html", study_card(store, node)
    if path.startswith("cohort/"):
        found = cohort_card(store, node)
        if found:
            return "cohort.html", found
    return "entity.html", {}
