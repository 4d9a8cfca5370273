"""The stored-query library (queries/*.rq): every query runs, gives the review's own numbers, gives the same
CSV on a real Oxigraph server as on the embedded store, and refuses bad parameters by name.

Expected values are the review's (sources/review/kantarjian-2023.txt); the line each comes from is cited.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyoxigraph import RdfFormat, Store

from kg import paths
from kg.querylib import MAX_PARAM_LENGTH, Parameter, QueryError, StoredQuery, get, library, parse_params
from kg.results import rows, serialize_result
from tests.conftest import run_kg

LIBRARY = library()
NAMES = sorted(LIBRARY)
VIOLATIONS = [n for n in NAMES if n.endswith("-violation")]
CORE = {"outcomes", "cohorts", "adverse_events", "conflicts", "printed-inconsistencies", "coverage-by-table"}
ID = "https://w3id.org/evidence-kg/id/"


def records(engine, name: str, **params: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    names, table = rows(engine.select(get(name).bind(params)))
    return [dict(zip(names, row, strict=True)) for row in table]


def local_csv(engine, name: str, params: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    # `kg` runs as a text-mode subprocess, which reads CSV's \r\n as \n: compare in the same terms.
    return serialize_result(engine.select(LIBRARY[name].bind(params)), "csv").decode("utf-8").replace("\r\n", "\n")


def examples(q: StoredQuery) -> dict[str, str]:
    return {p.name: p.example for p in q.parameters if p.example is not None}


# --- the library itself ----------------------------------------------------------------------------


def test_kg_queries_lists_the_whole_folder_with_summaries_and_parameters(built_home: Path) -> None:
    result = run_kg("queries", home=built_home, check=True)
    assert len(NAMES) - len(CORE) >= 18
    assert f"{len(NAMES)} queries" in result.stdout
    cells = [c.strip() for line in result.stdout.splitlines() for c in line.split("│")]
    for name in NAMES:  # rich folds a long name over lines: its first line starts a cell
        assert any(c and name.startswith(c) for c in cells), name
    assert "endpoint:enum=OS [OS|RFS|EFS|DFS|DoR]," in result.stdout  # allowed values not eaten as rich markup
    assert "study:string=tower" in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_every_query_is_documented_and_totally_ordered(name: str) -> None:
    q = LIBRARY[name]
    assert q.summary and q.description or q.is_violation_check, name
    assert q.tags, name
    body = "\n".join(line for line in q.text.splitlines() if not line.lstrip().startswith("#"))
    assert re.search(r"^ORDER BY .+", body, flags=re.MULTILINE), f"{name}: no ORDER BY"
    if q.is_violation_check:
        assert q.text.startswith("# Why:"), f"{name}: a check opens with why it exists and how to fix a hit"
        assert "Fix a hit" in q.text and not q.parameters


# --- every query on the embedded store ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_query_runs_with_defaults_and_with_its_examples(embedded, name: str) -> None:  # type: ignore[no-untyped-def]
    q = LIBRARY[name]
    for params in ({}, examples(q)):
        found = records(embedded, name, **params)
        if q.is_violation_check:
            assert found == [], f"{name} found problems in the build: {found[:5]}"
        else:
            assert found, f"{name} {params} gave no rows"


def test_outcomes_has_tower_and_mt_103_211_as_printed(embedded) -> None:  # type: ignore[no-untyped-def]
    found = records(embedded, "outcomes")
    # line 150: "Blinatumomab arm, 7.7 (5.6–9.6) without censoring at HSCT"
    tower = [r for r in found if r["study"] == "TOWER" and r["endpoint"] == "OS" and r["estimate"] == "7.7"]
    assert [(r["lower"], r["upper"], r["interval"], r["statistic"], r["source"]) for r in tower] == [
        ("5.6", "9.6", "95% CI", "median", "Table 1")
    ]
    # line 149: MT-103-211 ... 5.9 (4.8–8.3)
    rfs = [r for r in found if r["study"] == "MT-103-211" and r["endpoint"] == "RFS"]
    assert [(r["estimate"], r["lower"], r["upper"], r["interval"], r["ref"]) for r in rfs] == [("5.9", "4.8", "8.3", "95% CI", "14")]


def test_forest_plot_of_adult_ph_negative_rr_os(embedded) -> None:  # type: ignore[no-untyped-def]
    found = records(embedded, "forest-plot", endpoint="OS", age_group="adult", ph_status="negative", setting="relapsed-refractory")
    assert {(r["age_group"], r["ph_status"], r["setting"], r["endpoint"], r["statistic"]) for r in found} == {
        ("adult", "negative", "relapsed-refractory", "OS", "median")
    }
    numeric = [r for r in found if r["estimate"] and r["upper"]]
    plotted = {(r["study"], Decimal(r["estimate"]), Decimal(r["lower"]), Decimal(r["upper"])) for r in numeric}
    assert ("MT-103-211", Decimal("6.1"), Decimal("4.2"), Decimal("7.5")) in plotted  # line 124
    assert ("TOWER", Decimal("7.7"), Decimal("5.6"), Decimal("9.6")) in plotted  # line 135
    # Dombret's first-salvage median has an upper bound the table prints as NE (line 167): a state, not a number.
    dombret = [r for r in found if r["label"].startswith("Dombret") and r["estimate"] == "11.1" and "[text]" not in r["label"]]
    assert [(r["upper"], r["upper_status"], r["interval"]) for r in dombret] == [("", "NE", "95% CI")]
    pediatric = records(embedded, "forest-plot", endpoint="OS", age_group="pediatric")
    assert pediatric and all(r["age_group"] == "pediatric" for r in pediatric)


def _pairs(found: list[dict[str, str]]) -> set[tuple[str, str, str, str]]:
    return {(r["endpoint"], r["a_median"], r["b_median"], r["a_source"]) for r in found}


def test_first_vs_later_salvage_shows_dombret_and_topp_side_by_side(embedded) -> None:  # type: ignore[no-untyped-def]
    found = records(embedded, "compare-first-vs-later-salvage")
    # line 204 (Dombret, TOWER): 11.1 vs 5.1 months; line 208 (Topp, pooled): 10.4 vs 5.7 months, HR 1.58, p<0.001
    assert {("OS", "11.1", "5.1", "Table 1"), ("OS", "10.4", "5.7", "Table 1")} <= _pairs(found)
    topp = next(r for r in found if (r["a_median"], r["b_median"]) == ("10.4", "5.7"))
    assert (topp["a_n"], topp["b_n"], topp["a_interval"], topp["b_interval"]) == ("165", "367", "95% CI 8.3–14.3", "95% CI 4.3–7.1")
    assert topp["effect"] == "HR 1.58, p<0.001"
    assert topp["b_source"] == "Table 1" and topp["a_group"] == "first salvage" and topp["b_group"] == "second or later salvage"
    # Censored at HSCT pairs with censored: 9.6 vs 4.7 (line 167), never with 5.1.
    assert ("OS", "9.6", "4.7", "Table 1") in _pairs(found)
    assert not any(r["a_median"] == "9.6" and r["b_median"] == "5.1" for r in found)


def test_the_other_comparisons_pair_the_reviews_medians(embedded) -> None:  # type: ignore[no-untyped-def]
    mrd = records(embedded, "compare-mrd-responders")
    # line 214: RFS 9.0 vs 2.3 months (p=0.013), OS 20.6 vs 12.5 months (p=0.03 log-rank, p=0.05 Wilcoxon)
    assert {("RFS", "9.0", "2.3", "Table 1"), ("OS", "20.6", "12.5", "Table 1")} <= _pairs(mrd)
    gokbuget_os = next(r for r in mrd if (r["a_median"], r["b_median"]) == ("20.6", "12.5"))
    assert gokbuget_os["effect"] == "p=0.03 (log-rank) | p=0.05 (Wilcoxon)"
    age = records(embedded, "compare-age", cutoff="65")
    # line 172: OS >=65 years 5.5 (4.2–13.5) vs <65 years 7.6 (5.8–8.6)
    assert ("OS", "5.5", "7.6", "Table 1") in _pairs(age)
    assert {(r["a_group"], r["b_group"]) for r in age} == {(">=65 years", "<65 years")}
    allo = records(embedded, "compare-allohsct")
    assert {r["a_group"] for r in allo} == {"with prior alloHSCT", "with subsequent alloHSCT"}
    # line 344: MT-103-205 LTFU, patients with prior alloHSCT 10.6 months
    assert any(r["a_median"] == "10.6" and r["a_group"] == "with prior alloHSCT" for r in allo)
    rwe = records(embedded, "compare-rwe-vs-pivotal", endpoint="OS", age_group="adult", ph_status="negative")
    # line 294: Badar 2021, Ph-negative 10.9 (8.1–17.9) against MT-103-211's 6.1 (line 124)
    assert any(
        (r["a_median"], r["a_interval"], r["b_study"], r["b_median"]) == ("10.9", "95% CI 8.1–17.9", "MT-103-211", "6.1") for r in rwe
    )
    assert {r["a_group"] for r in rwe} == {"real-world evidence"} and {r["b_group"] for r in rwe} == {"pivotal study"}
    children = records(embedded, "compare-pediatric-vs-adult", endpoint="OS", evidence_kind="pivotal")
    # line 338: MT-103-205 OS 7.5 (4.0–11.8) beside MT-103-211's 6.1
    assert any(r["a_median"] == "7.5" and r["a_interval"] == "95% CI 4.0–11.8" and r["b_median"] == "6.1" for r in children)


def test_studies_and_one_study(embedded) -> None:  # type: ignore[no-untyped-def]
    tower = next(r for r in records(embedded, "studies") if r["study_id"] == "tower")
    assert (tower["protocol"], tower["phase"], tower["design"], tower["evidence_kind"], tower["nct"], tower["refs"]) == (
        "MT-103-311", "III", "randomised", "pivotal", "NCT02013167", "15"
    )
    assert {r["evidence_kind"] for r in records(embedded, "studies", evidence_kind="real-world")} == {"real-world"}
    facts = records(embedded, "study", study="tower")
    assert {r["part"] for r in facts} >= {"1 study", "2 cohort", "3 outcome", "6 comparison", "7 publication"}
    assert any(r["item"] == ID + "outcome/tower/blinatumomab/os-median-not-censored-at-hsct" and r["property"] == "ekg:estimateText"
               and r["value"] == "7.7" for r in facts)
    assert all(not r["item"].startswith(ID + "study/") or r["item"] == ID + "study/tower" for r in facts)
    assert records(embedded, "study", study="no-such-study") == []


def test_adverse_event_incidence_with_codes_and_without(embedded) -> None:  # type: ignore[no-untyped-def]
    crs = records(embedded, "adverse-event", term="CRS")
    assert {r["concept_label"] for r in crs} == {"cytokine release syndrome"}
    assert {r["match"] for r in crs} <= {"exactMatch", "closeMatch"} and any(r["code"].startswith("meddra:") for r in crs)
    # line 149: MT-103-211's grade >=3 CRS; the same concept is found by its MedDRA code
    assert any(r["study"] == "MT-103-211" and r["grade"] == ">=3" for r in crs)
    by_code = records(embedded, "adverse-event", term=next(r["code"] for r in crs if r["code"].startswith("meddra:")))
    assert {r["incidence"] for r in by_code} == {r["incidence"] for r in crs}
    mapped = {r["concept"] for r in records(embedded, "concept-mappings") if r["predicate"] in ("exactMatch", "closeMatch")}
    unmapped = sorted({r["concept"] for r in records(embedded, "adverse_events")} - mapped)
    assert unmapped, "every adverse-event concept has a code: plant one without to keep this check honest"
    found = records(embedded, "adverse-event", term=unmapped[0].rsplit("/", 1)[1])
    assert found and all(r["code"] == r["match"] == "" for r in found)  # no code, still its incidences


def test_top_grade3_and_the_small_reference_queries(embedded) -> None:  # type: ignore[no-untyped-def]
    top = records(embedded, "top-grade3-adverse-events")
    assert {"cytokine release syndrome", "neurologic adverse event"} <= {r["concept_label"] for r in top[:3]}
    neutropenia = next(r for r in top if r["concept_label"] == "neutropenia")
    assert Decimal(neutropenia["max_percent"]) >= Decimal("46.3")  # line 167: Dombret, neutropenia (46.3%)
    assert [int(r["studies"]) for r in top] == sorted((int(r["studies"]) for r in top), reverse=True)
    assert records(embedded, "search", text="tower")[0]["item"] == ID + "study/tower"
    assert any(r["matched_on"] == "alternative label" for r in records(embedded, "search", text="cytokine storm"))
    prov = records(embedded, "provenance", iri=ID + "outcome/dombret-2019/first-salvage/os-median")
    aspects = {r["aspect"]: r for r in prov}
    assert aspects["02 source"]["value"] == "Table 1" and "11.1 (8.2–NE)" in aspects["03 quote"]["value"]
    assert aspects["07 reported by"]["related"] == ID + "publication/ref-22"
    assert aspects["12 conflict"]["related"] == ID + "outcome/dombret-2019/first-salvage/os-median-text"  # NE in Table 1, NR in the text
    nejm = next(r for r in records(embedded, "publications") if r["ref"] == "15")
    assert (nejm["first_author"], nejm["year"], nejm["journal"]) == ("Kantarjian H", "2017", "New Engl J Med")
    os_ = next(r for r in records(embedded, "endpoints") if r["endpoint"] == "OS")
    assert int(os_["medians"]) > 50 and os_["label"] == "overall survival"
    topp = [r for r in records(embedded, "comparisons", endpoint="os") if r["estimate"] == "1.58"]
    assert [(r["measure"], r["p_value"]) for r in topp] == [("HR", "<0.001")]  # line 208
    mt211 = next(r for r in records(embedded, "responses", criterion="CR/CRh") if r["study"] == "MT-103-211")
    assert (mt211["responders"], mt211["denominator"], mt211["percent"]) == ("81", "189", "43.0")  # line 149: 81 (43.0)
    mondo = records(embedded, "concept-mappings", prefix="mondo", predicate="exactMatch")
    assert mondo and all(r["code"].startswith("MONDO:") and r["predicate"] == "exactMatch" for r in mondo)


# --- quality checks fire on planted problems ------------------------------------------------------------

PLANTED = {
    "measurement-without-source-violation": "x:m a ekg:OutcomeMeasurement .",
    "cohort-without-n-violation": "x:c a ekg:Cohort ; ekg:arm ekg:Blinatumomab .",
    "study-without-publication-violation": "x:s a ekg:Study .",
    "quote-missing-violation": 'x:m a ekg:ResponseMeasurement ; ekg:quote "  " .',
    "orphan-cohort-violation": "x:c a ekg:Cohort .",
    "subgroup-larger-than-parent-violation": "x:c ekg:parentCohort x:p ; ekg:patientsTreated 10 . x:p ekg:patientsTreated 5 .",
    "conflict-without-two-values-violation": (
        'x:k a ekg:Conflict ; ekg:conflictingValue x:a ; ekg:conflictAspect "estimate" . x:a ekg:fromText false ; ekg:sourceLocator "T" .'
    ),
    "estimate-outside-interval-violation": "x:m ekg:intervalKind ekg:CI95 ; ekg:estimate 10.0 ; ekg:lowerBound 1.0 ; ekg:upperBound 5.0 .",
    "percent-mismatch-violation": "x:r ekg:responders 10 ; ekg:denominator 20 ; ekg:percent 60.0 .",
    "dangling-reference-violation": "x:c ekg:inStudy x:nowhere .",
}


@pytest.mark.parametrize("name", VIOLATIONS)
def test_each_quality_check_reports_a_planted_problem(name: str) -> None:
    assert name in PLANTED, f"add a planted problem for {name} to PLANTED"
    store = Store()
    turtle = f"@prefix ekg: <https://w3id.org/evidence-kg/ontology#> . @prefix x: <{ID}x/> .\n{PLANTED[name]}"
    store.load(turtle.encode(), format=RdfFormat.TURTLE)
    found = list(store.query(LIBRARY[name].bind({}), use_default_graph_as_union=True))
    assert found, f"{name} did not report its planted problem"


# --- one query layer, two engines --------------------------------------------------------------------


def _cases() -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    cases = [(name, ()) for name in NAMES]
    cases += [(name, tuple(sorted(examples(q).items()))) for name, q in LIBRARY.items() if examples(q)]
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def remote_csv(oxigraph_server, built_home: Path) -> dict:  # type: ignore[no-untyped-def]
    """Every case through `kg query ... --endpoint` against the real server, a few processes at a time."""

    def run(case: tuple[str, tuple[tuple[str, str], ...]]) -> str:
        name, params = case
        args = [arg for k, v in params for arg in ("--param", f"{k}={v}")]
        return run_kg("query", name, *args, "--endpoint", oxigraph_server.query_url, "--format", "csv", home=built_home, check=True).stdout

    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(zip(CASES, pool.map(run, CASES), strict=True))


@pytest.mark.parametrize("case", CASES, ids=[n + "".join(f"[{k}={v}]" for k, v in p) for n, p in CASES])
def test_oxigraph_server_gives_byte_identical_csv(remote_csv: dict, embedded, case) -> None:  # type: ignore[no-untyped-def]
    name, params = case
    local = local_csv(embedded, name, dict(params))
    assert remote_csv[case] == local
    assert local.startswith(",".join(v.value for v in embedded.select(LIBRARY[name].bind(dict(params))).variables) + "\n")


def test_kg_query_csv_on_the_embedded_store_is_the_library_csv(built_home: Path, embedded) -> None:  # type: ignore[no-untyped-def]
    out = run_kg("query", "compare-first-vs-later-salvage", "-p", "endpoint=OS", "--format", "csv", home=built_home, check=True).stdout
    assert out == local_csv(embedded, "compare-first-vs-later-salvage", {"endpoint": "OS"})
    assert "11.1" in out and "5.1" in out and "10.4" in out and "5.7" in out


@pytest.mark.parametrize("fmt", ["table", "tsv", "json", "xml", "markdown"])
def test_every_output_format(built_home: Path, fmt: str) -> None:
    out = run_kg("query", "search", "-p", "text=TOWER", "--format", fmt, home=built_home, check=True).stdout
    assert "TOWER" in out
    if fmt == "markdown":
        assert out.startswith("| item | label | matched_on | type |\n|---|---|---|---|\n")
    if fmt == "json":
        assert '"head"' in out and '"bindings"' in out


# --- parameters: validated, named, never spliced --------------------------------------------------------

BAD_PARAMS = [
    ("forest-plot", "endpoint=OS\" } ; DROP ALL ; #", "'endpoint'"),
    ("forest-plot", "endpoint=overall", "'endpoint'"),
    ("forest-plot", "age=adult", "'age'"),
    ("forest-plot", "endpoint", "'endpoint'"),
    ("provenance", "iri=<http://x> } SERVICE <http://evil/>", "'iri'"),
    ("provenance", "iri=not an iri", "'iri'"),
    ("study", "study=tower> } SERVICE <http://evil/", "'study'"),
    ("search", "text=x", "'text'"),
    ("search", "text=" + "a" * (MAX_PARAM_LENGTH + 1), "'text'"),
]


@pytest.mark.parametrize(("name", "param", "named"), BAD_PARAMS)
def test_a_bad_parameter_is_refused_by_name(built_home: Path, name: str, param: str, named: str) -> None:
    result = run_kg("query", name, "--param", param, "--format", "csv", home=built_home)
    assert result.code == 2, result.stderr
    assert named in result.stderr and result.stdout == "" and "Traceback" not in result.stderr


def test_an_unknown_query_or_endpoint_is_one_line_and_non_zero(built_home: Path) -> None:
    result = run_kg("query", "no-such-query", home=built_home)
    assert result.code != 0 and "no stored query named 'no-such-query'" in result.stderr
    result = run_kg("query", "studies", "--endpoint", "file:///etc/passwd", home=built_home)
    assert result.code != 0 and "not an http(s) URL" in result.stderr and "Traceback" not in result.stderr


ECHO = StoredQuery(
    name="echo",
    path=Path("echo.rq"),
    text='SELECT ?value WHERE { BIND(?_value AS ?value) } ORDER BY ?value',
    summary="echo",
    parameters=(Parameter("value"),),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=60))
def test_any_string_value_comes_back_unchanged_through_the_engine(embedded, value: str) -> None:  # type: ignore[no-untyped-def]
    """Whatever a caller sends (quotes, braces, `#`, newlines, SPARQL keywords) is data, not query text."""
    found = list(embedded.select(ECHO.bind({"value": value})))
    assert [s["value"].value for s in found] == [value]


@given(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), st.text(max_size=40))
def test_parse_params_splits_at_the_first_equals(key: str, value: str) -> None:
    assert parse_params([f"{key}={value}"]) == {key: value}


@given(st.integers(min_value=-(10**17), max_value=10**17), st.text(min_size=1, max_size=10))
def test_integer_and_decimal_parameters(number: int, junk: str) -> None:
    integer, decimal = Parameter("n", type="integer"), Parameter("d", type="decimal")
    assert integer.term(str(number)).value == str(number)
    assert decimal.term(f"{number}.5").value == f"{number}.5"
    if not re.fullmatch(r"-?\d+", junk):
        with pytest.raises(QueryError, match="'n'"):
            integer.term(junk)
    if not re.fullmatch(r"-?\d+(\.\d+)?", junk):
        with pytest.raises(QueryError, match="'d'"):
            decimal.term(junk)


def test_parse_params_refuses_duplicates_and_missing_keys() -> None:
    with pytest.raises(QueryError, match="given twice"):
        parse_params(["a=1", "a=2"])
    with pytest.raises(QueryError, match="not key=value"):
        parse_params(["=1"])


def test_header_mistakes_name_the_file(tmp_path: Path) -> None:
    cases = {
        "no-summary": "#+ tags: [x]\nSELECT * WHERE { ?s ?p ?o } ORDER BY ?s",
        "bad-type": "#+ summary: s\n#+ params:\n#+   x: {type: number}\nSELECT * WHERE { ?s ?p ?o } ORDER BY ?s",
        "bad-default": "#+ summary: s\n#+ params:\n#+   x: {type: enum, enum: [a, b], default: c}\nSELECT * WHERE { ?s ?p ?o } ORDER BY ?s",
        "empty-enum": "#+ summary: s\n#+ params:\n#+   x: {type: enum}\nSELECT * WHERE { ?s ?p ?o } ORDER BY ?s",
        "unknown-key": "#+ summary: s\n#+ params:\n#+   x: {tpye: string}\nSELECT * WHERE { ?s ?p ?o } ORDER BY ?s",
    }
    for name, text in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.rq").write_text(text, encoding="utf-8")
        with pytest.raises(QueryError, match=re.escape(str(folder / f"{name}.rq"))):
            library(folder)


def test_values_block_goes_into_the_outer_where() -> None:
    q = LIBRARY["forest-plot"]
    bound = q.bind({"age_group": "adult"})
    where = bound.index("WHERE {")
    assert bound[where:].startswith('WHERE {\n  VALUES (?_endpoint ?_age_group ?_ph_status ?_setting ?_salvage_line ?_evidence_kind ?_arm) '
                                     '{ ("OS" "adult" UNDEF UNDEF UNDEF UNDEF UNDEF) }')
    assert paths.QUERIES.joinpath("forest-plot.rq").read_text(encoding="utf-8") == q.text  # the file is the query
