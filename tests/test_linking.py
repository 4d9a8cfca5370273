"""Joins from the outside world: a user who holds a MONDO, MedDRA, ClinicalTrials.gov or DOI identifier finds
the review's cohorts, adverse events, studies and publications through the SSSOM mappings."""

from __future__ import annotations

from decimal import Decimal

from kg import paths
from kg.mappings import expand

PREFIXES = """PREFIX ekg: <https://w3id.org/evidence-kg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
REVIEW = paths.REVIEW_TEXT.read_text(encoding="utf-8")
MONDO_B_ALL = "http://purl.obolibrary.org/obo/MONDO_0004947"
# CTCAE v5.0 "Febrile neutropenia" = MedDRA 10016288 (shared/reference/extracts/ctcae5_meddra_subset.tsv).
MEDDRA_FEBRILE_NEUTROPENIA = "http://bioportal.bioontology.org/ontologies/MEDDRA?p=classes&conceptid=10016288"
# Every grade >= 3 (or ungraded) febrile-neutropenia percent the review prints, by reference number.
FEBRILE_NEUTROPENIA = {
    "14": ["25"], "16": ["20.3", "28.8"], "23": ["18.0", "24.0"], "26": ["19.0", "20.0"], "27": ["22.0", "23.0"],
    "29": ["53.1"], "32": ["34.0"], "36": ["26.7"], "37": ["11.0"], "49": ["17.0"], "54": ["9.1"],
}


def _rows(embedded, query: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    result = embedded.select(PREFIXES + query)
    names = [var.value for var in result.variables]
    return [{n: (row[n].value if row[n] is not None else "") for n in names} for row in result]


def test_curies_expand_to_the_iris_users_join_on() -> None:
    assert expand("MONDO:0004947") == MONDO_B_ALL
    assert expand("meddra:10016288") == MEDDRA_FEBRILE_NEUTROPENIA
    assert expand("clinicaltrials:NCT02013167") == "https://www.clinicaltrials.gov/study/NCT02013167"
    assert expand("doi:10.1056/NEJMoa1609783") == "https://doi.org/10.1056/NEJMoa1609783"


def test_mondo_b_all_finds_the_cohorts(embedded) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(embedded, f"""SELECT ?cohort ?study ?n WHERE {{
        ?cohort a ekg:Cohort ; ekg:disease ?d ; ekg:inStudy/rdfs:label ?study .
        ?d skos:exactMatch <{MONDO_B_ALL}> .
        OPTIONAL {{ ?cohort ekg:patientsTreated ?n }} }}""")
    cohorts = _rows(embedded, "SELECT (COUNT(*) AS ?n) WHERE { ?c a ekg:Cohort }")[0]["n"]
    assert len({r["cohort"] for r in rows}) == int(cohorts)  # every cohort of the review is B-ALL
    assert {"study": "TOWER", "n": "271"}.items() <= next(r for r in rows if r["cohort"].endswith("/tower/blinatumomab")).items()
    # The related MONDO classes do not pass for exact matches.
    assert not _rows(embedded, "SELECT ?d WHERE { ?d skos:exactMatch <http://purl.obolibrary.org/obo/MONDO_0020511> }")


def test_meddra_code_finds_the_adverse_event_incidences(embedded) -> None:  # type: ignore[no-untyped-def]
    query = """SELECT ?ref ?percent ?grade ?quote WHERE {
        ?term skos:exactMatch ?meddra .
        ?i a ekg:AdverseEventIncidence ; ekg:adverseEventTerm ?term ; ekg:referenceList ?ref ;
           ekg:percentText ?percent ; ekg:gradeThreshold/ekg:notation ?grade ; ekg:quote ?quote .
        %s }"""
    by_iri = _rows(embedded, query % f"FILTER(?meddra = <{MEDDRA_FEBRILE_NEUTROPENIA}>)")
    by_notation = _rows(embedded, query % '?meddra skos:notation "meddra:10016288" .')
    assert sorted(map(str, by_iri)) == sorted(map(str, by_notation))
    found: dict[str, list[str]] = {}
    for r in by_iri:
        found.setdefault(r["ref"], []).append(r["percent"])
        assert r["quote"] in REVIEW or r["quote"].replace("≥", "\\geq") in REVIEW, r["quote"]
        assert f"{r['percent']}%" in r["quote"], r
        assert r["grade"] in (">=3", "any")
    assert {ref: sorted(p, key=Decimal) for ref, p in found.items()} == FEBRILE_NEUTROPENIA
    # Zhou 2022 prints "neutropenia and febrile neutropenia" together: a narrower match, not an exact one.
    assert "30;31" not in found and "30" not in found


def test_nct_number_finds_the_study(embedded) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(embedded, """SELECT ?study ?label WHERE {
        ?study a ekg:Study ; rdfs:label ?label ; skos:exactMatch <https://www.clinicaltrials.gov/study/NCT02013167> }""")
    assert [(r["study"].rsplit("/", 1)[-1], r["label"]) for r in rows] == [("tower", "TOWER")]
    cohorts = _rows(embedded, """SELECT ?n WHERE { ?s skos:exactMatch ?nct . ?nct skos:notation "clinicaltrials:NCT02013167" .
        ?c ekg:inStudy ?s ; ekg:arm ekg:Blinatumomab ; ekg:patientsTreated ?n }""")
    assert "271" in {r["n"] for r in cohorts}


def test_doi_finds_the_publication(embedded) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(embedded, """SELECT ?pub ?number ?title WHERE {
        ?pub a ekg:Publication ; skos:exactMatch <https://doi.org/10.1056/NEJMoa1609783> ; ekg:referenceNumber ?number .
        OPTIONAL { ?pub <http://purl.org/dc/terms/title> ?title } }""")
    assert len(rows) == 1 and rows[0]["number"] == "15" and rows[0]["pub"].endswith("/publication/ref-15")
    assert "Blinatumomab versus chemotherapy for advanced acute lymphoblastic leukemia" in rows[0]["title"]
    assert "15. Kantarjian H, Stein A, Gökbuget N" in REVIEW
    review = _rows(embedded, "SELECT ?pub WHERE { ?pub skos:exactMatch <https://doi.org/10.1177/20406207231201454> }")
    assert [r["pub"].rsplit("/", 1)[-1] for r in review] == ["kantarjian-2023"]
