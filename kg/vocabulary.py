"""Namespaces, named graphs, and the curated words' RDF counterparts (see docs/model.md)."""

from __future__ import annotations

from pyoxigraph import NamedNode

BASE = "https://w3id.org/evidence-kg/"
EKG = BASE + "ontology#"
ID = BASE + "id/"
GRAPH = BASE + "graph/"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "http://www.w3.org/ns/prov#"
DCTERMS = "http://purl.org/dc/terms/"

PREFIXES = {
    "ekg": EKG,
    "ekgid": ID,
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
    "owl": OWL,
    "skos": SKOS,
    "prov": PROV,
    "dcterms": DCTERMS,
}

GRAPHS = {name: NamedNode(GRAPH + name) for name in ("ontology", "data", "mappings", "provenance")}


def ekg(name: str) -> NamedNode:
    return NamedNode(EKG + name)


def ident(path: str) -> NamedNode:
    return NamedNode(ID + path)


RDF_TYPE = NamedNode(RDF + "type")
RDFS_LABEL = NamedNode(RDFS + "label")
RDFS_COMMENT = NamedNode(RDFS + "comment")
PROV_DERIVED = NamedNode(PROV + "wasDerivedFrom")

DESIGN = {
    "randomised": "RandomisedDesign",
    "single-arm": "SingleArmDesign",
    "observational": "ObservationalDesign",
    "pooled-analysis": "PooledAnalysisDesign",
    "subgroup-analysis": "SubgroupAnalysisDesign",
}
EVIDENCE_KIND = {
    "pivotal": "Pivotal",
    "supportive": "Supportive",
    "long-term-follow-up": "LongTermFollowUp",
    "retrospective": "Retrospective",
    "single-centre": "SingleCentre",
    "country-specific": "CountrySpecific",
    "real-world": "RealWorld",
}
ARM = {"blinatumomab": "Blinatumomab", "chemotherapy": "Chemotherapy", "blinatumomab-tki": "BlinatumomabPlusTKI"}
AGE_GROUP = {"adult": "Adult", "pediatric": "Pediatric", "mixed": "MixedAge"}
PH_STATUS = {"negative": "PhNegative", "positive": "PhPositive", "mixed": "PhMixed", "not-reported": "PhNotReported"}
SETTING = {"relapsed-refractory": "RelapsedRefractory", "mrd-positive": "MRDPositive", "mixed": "MixedSetting"}
SALVAGE_LINE = {"first": "FirstSalvage", "second-or-later": "SecondOrLaterSalvage"}
RESPONSE_STATUS = {
    "cr-crh": "CRCRhResponder",
    "cr-crh-cri": "CRCRhCRiResponder",
    "cr": "CRResponder",
    "mrd-responder": "MRDResponder",
    "mrd-non-responder": "MRDNonResponder",
    "complete-mrd-responder": "CompleteMRDResponder",
    "complete-mrd-non-responder": "CompleteMRDNonResponder",
    "no-cr-crh": "NoCRCRh",
    "no-cr": "NoCR",
}
REMISSION = {"first": "FirstRemission", "second-or-later": "SecondOrLaterRemission"}
TREATMENT_PHASE = {"induction": "Induction", "consolidation": "Consolidation", "maintenance": "Maintenance", "first-cycle": "FirstCycle"}
ENDPOINT = {"OS": "OS", "RFS": "RFS", "EFS": "EFS", "DFS": "DFS", "DoR": "DoR", "NRM": "NRM", "relapse": "Relapse"}
STATISTIC = {"median": "Median", "rate": "Rate", "incidence": "Incidence"}
UNIT = {"months": "Months", "percent": "Percent"}
INTERVAL = {"95% CI": "CI95", "range": "Range", "IQR": "IQR"}
CENSORING = {"censored-at-hsct": "CensoredAtHSCT", "not-censored-at-hsct": "NotCensoredAtHSCT"}
GRADE = {
    ">=3": "GradeAtLeast3",
    ">=2": "GradeAtLeast2",
    "3": "Grade3",
    "4": "Grade4",
    "2": "Grade2",
    "1-2": "Grade1To2",
    "any": "AnyGrade",
}
GRADE_SLUG = {
    ">=3": "grade-3-plus", ">=2": "grade-2-plus", "3": "grade-3", "4": "grade-4", "2": "grade-2", "1-2": "grade-1-2", "any": "any-grade",
}
EFFECT_MEASURE = {"HR": "HazardRatio", "OR": "OddsRatio", "difference": "Difference"}

STATE = {"NE": "NotEstimable", "NR": "NotReached", "not reported": "NotReported"}

# The word a curator writes for each controlled individual; the ontology gives each its skos:notation,
# and the queries print these words (a test keeps the two in step).
NOTATIONS: dict[str, str] = {
    local: word
    for table in (
        DESIGN, EVIDENCE_KIND, ARM, AGE_GROUP, PH_STATUS, SETTING, SALVAGE_LINE, RESPONSE_STATUS, REMISSION,
        TREATMENT_PHASE, ENDPOINT, STATISTIC, UNIT, INTERVAL, CENSORING, GRADE, EFFECT_MEASURE, STATE,
    )
    for word, local in table.items()
}
