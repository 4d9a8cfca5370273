"""The SHACL shapes and the validation gate, against deliberately broken inputs.

tests/broken/ holds the corpus: Turtle files that are tests/fixtures/valid-tower.ttl with one thing
broken, malformed files (each with an `expect:` comment naming the message it must produce), and
source-edits.yaml, edits of a copy of the curated sources that `kg build` must refuse.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from pyoxigraph import RdfFormat, Store, parse

from kg.build import graph_quads
from kg.loading import SourceErrors, load_sources
from kg.rdfinput import RdfInputError, read_rdf
from kg.release import current
from kg.validation import ShapesError, data_graph, shapes_graph, validate
from tests.conftest import ROOT, run_kg

BROKEN = ROOT / "tests" / "broken"
FIXTURE = ROOT / "tests" / "fixtures" / "valid-tower.ttl"
CORPUS = sorted(p for p in BROKEN.iterdir() if p.suffix in {".ttl", ".nt", ".rdf"})
EDITS = yaml.safe_load((BROKEN / "source-edits.yaml").read_text(encoding="utf-8"))["edits"]


def expectation(path: Path) -> str:
    head = path.read_bytes()[:600].decode("utf-8", errors="replace")
    match = re.search(r"expect:\s*(.+?)\s*(?:-->)?\s*$", head, re.MULTILINE)
    assert match, f"{path.name} has no `expect:` comment"
    return match.group(1)


def is_parse_error(path: Path) -> bool:
    """Malformed files expect `NAME:LINE...`, the start of a parse error."""
    return re.match(rf"{re.escape(path.name)}:\d+", expectation(path)) is not None


MALFORMED = [p for p in CORPUS if is_parse_error(p)]
INVALID = [p for p in CORPUS if not is_parse_error(p)]


@pytest.fixture(scope="module")
def shapes():  # type: ignore[no-untyped-def]
    return shapes_graph()


def test_corpus_is_large_and_varied() -> None:
    assert len(INVALID) >= 30
    assert len(MALFORMED) >= 8
    assert {p.suffix for p in MALFORMED} == {".ttl", ".nt", ".rdf"}
    assert len(EDITS) >= 10 and {e["stage"] for e in EDITS} == {"schema", "shapes"}
    for path in CORPUS:
        assert re.search(r"why:\s*\S", path.read_bytes()[:800].decode("utf-8", errors="replace")), f"{path.name} says no why"


def test_fixture_conforms(shapes) -> None:  # type: ignore[no-untyped-def]
    report = validate(read_rdf(FIXTURE), shapes=shapes)
    assert report.conforms, [f.message for f in report.findings]
    assert report.findings == []


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid_graph_is_refused_with_its_message(path: Path, shapes) -> None:  # type: ignore[no-untyped-def]
    expect = expectation(path)
    report = validate(read_rdf(path), shapes=shapes)
    assert not report.conforms
    messages = [f.message for f in report.violations]
    assert any(expect in m for m in messages), messages
    assert all(f.focus and f.message and f.severity == "Violation" for f in report.findings)


@pytest.mark.parametrize("path", MALFORMED, ids=[p.name for p in MALFORMED])
def test_malformed_file_is_a_parse_error_with_its_line(path: Path) -> None:
    with pytest.raises(RdfInputError) as caught:
        read_rdf(path)
    assert expectation(path) in str(caught.value)
    assert caught.value.line is not None


@pytest.mark.parametrize("path", MALFORMED, ids=[p.name for p in MALFORMED])
def test_kg_validate_names_file_and_line_in_one_line(path: Path) -> None:
    result = run_kg("validate", str(path))
    assert result.code == 1
    assert expectation(path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_billion_laughs_is_refused_before_any_entity_is_expanded() -> None:
    path = BROKEN / "billion-laughs.rdf"
    with pytest.raises(RdfInputError, match="DOCTYPE or ENTITY declaration is refused"):
        read_rdf(path)


def test_kg_validate_prints_each_finding_readably() -> None:
    result = run_kg("validate", str(BROKEN / "percent-does-not-match-count.ttl"))
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert "Violation ekgid:response/tower/blinatumomab/cr-crh-cri" in lines
    assert "  path:    ekg:percent" in lines
    assert "  value:   54" in lines  # Oxigraph keeps decimals canonical: 54.0 is 54
    assert any(line.startswith("  message: percent 54.0 does not match 119/271 = 43.9%") for line in lines)
    assert lines[-1] == "1 violation(s)"


def test_kg_validate_json_report() -> None:
    result = run_kg("validate", str(BROKEN / "subgroup-larger-than-parent.ttl"), "--format", "json")
    assert result.code == 1
    report = json.loads(result.stdout)
    assert report["conforms"] is False
    [finding] = report["results"]
    assert finding["focus"] == "ekgid:cohort/tower/blinatumomab"
    assert finding["path"] == "ekg:patientsTreated"
    assert finding["value"] == "300"
    assert finding["severity"] == "Violation"
    assert finding["message"].startswith("subgroup n = 300 is larger than its parent cohort's n = 271")


def test_kg_validate_turtle_report_is_a_shacl_report_graph() -> None:
    result = run_kg("validate", str(BROKEN / "missing-quote.ttl"), "--format", "turtle")
    assert result.code == 1
    store = Store()
    store.extend(parse(result.stdout.encode(), format=RdfFormat.TURTLE))
    ask = """PREFIX sh: <http://www.w3.org/ns/shacl#>
        ASK { ?report a sh:ValidationReport ; sh:conforms false ; sh:result ?r .
              ?r sh:focusNode <https://w3id.org/evidence-kg/id/cohort/tower/blinatumomab> ;
                 sh:resultPath <https://w3id.org/evidence-kg/ontology#quote> ; sh:resultSeverity sh:Violation }"""
    assert store.query(ask)


def test_kg_validate_conforming_file_exits_zero() -> None:
    result = run_kg("validate", str(FIXTURE))
    assert result.code == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("conforms")


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("broken.jsonld", '{\n  "@id": "https://w3id.org/evidence-kg/id/study/tower",\n  "x": [1, 2,}\n', "broken.jsonld:3:"),
        ("remote.jsonld", '{\n  "@context": "https://example.org/context.jsonld",\n  "@id": "urn:x"\n}\n', "remote.jsonld:2: JSON-LD"),
        ("notes.txt", "hello\n", "unknown RDF file type '.txt'"),
    ],
)
def test_kg_validate_other_bad_inputs(tmp_path: Path, name: str, content: str, expect: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = run_kg("validate", str(path))
    assert result.code == 1
    assert expect in result.stderr
    assert "Traceback" not in result.stderr


def test_kg_validate_missing_file_and_bad_option(tmp_path: Path) -> None:
    missing = run_kg("validate", str(tmp_path / "absent.ttl"))
    assert missing.code == 1 and "absent.ttl: no such file" in missing.stderr
    bad = run_kg("validate", str(FIXTURE), "--format", "yaml")
    assert bad.code == 2 and "--format must be table, turtle or json" in bad.stderr


# --- curated source edits -------------------------------------------------------------------------


def _apply(stage: str, target: Path) -> list[dict]:
    shutil.copytree(ROOT / "sources", target)
    applied = []
    for edit in (e for e in EDITS if e["stage"] == stage):
        path = target / edit["file"]
        text = path.read_text(encoding="utf-8")
        assert text.count(edit["original"]) == 1, f"{edit['file']}: the edit's original text must occur once"
        line = text[: text.index(edit["original"])].count("\n") + 1
        path.write_text(text.replace(edit["original"], edit["replacement"]), encoding="utf-8")
        applied.append({**edit, "line": line})
    return applied


def test_source_edits_refused_while_reading(tmp_path: Path) -> None:
    edits = _apply("schema", tmp_path / "sources")
    with pytest.raises(SourceErrors) as caught:
        load_sources(tmp_path / "sources")
    errors = [str(e) for e in caught.value.errors]
    for edit in edits:
        where = f"{tmp_path / 'sources' / edit['file']}:{edit['line']}:"
        assert any(e.startswith(where) and edit["expect"] in e for e in errors), (edit["expect"], errors)


def test_source_edits_refused_by_the_shapes(tmp_path: Path, shapes) -> None:  # type: ignore[no-untyped-def]
    edits = _apply("shapes", tmp_path / "sources")
    report = validate(data_graph(graph_quads(load_sources(tmp_path / "sources"))), shapes=shapes)
    assert not report.conforms
    messages = [f.message for f in report.violations]
    for edit in edits:
        assert any(edit["expect"] in m for m in messages), (edit["expect"], messages)


# --- the gate -------------------------------------------------------------------------------------


def test_the_curated_graph_conforms(built_home: Path) -> None:
    # built_home is built with the gate on: it exists only if the review's graph conforms
    assert current(built_home).manifest["validated"] is True
    result = run_kg("validate", home=built_home)
    assert result.code == 0, result.stdout[-3000:]
    assert result.stdout.strip().endswith("conforms")


def test_build_refuses_a_bad_graph_and_keeps_the_previous_release(tmp_path: Path) -> None:
    from kg.build import build

    home = tmp_path / "home"
    good = build(home=home).release
    assert good is not None
    releases_before = sorted(p.name for p in (home / "releases").iterdir())
    edit = next(e for e in EDITS if e["expect"] == "300 responders exceed the denominator of 271")
    bad = tmp_path / "sources"
    shutil.copytree(ROOT / "sources", bad)
    path = bad / edit["file"]
    path.write_text(path.read_text(encoding="utf-8").replace(edit["original"], edit["replacement"]), encoding="utf-8")

    result = run_kg("build", "--sources", str(bad), "--home", str(home))

    assert result.code == 1
    assert "Violation ekgid:response/tower/blinatumomab/cr-crh-cri" in result.stderr
    assert "300 responders exceed the denominator of 271" in result.stderr
    assert "nothing was published, the previous release is unchanged" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert (home / "current").resolve() == good.path
    assert sorted(p.name for p in (home / "releases").iterdir()) == releases_before
    store = Store.read_only(str(current(home).store_path))
    [row] = store.query(
        "SELECT (COUNT(?c) AS ?n) WHERE { GRAPH ?g { ?c a <https://w3id.org/evidence-kg/ontology#Cohort> } }"
    )
    assert int(row["n"].value) == good.manifest["counts"]["cohorts"]
    [row] = store.query(
        "SELECT ?r WHERE { GRAPH ?g { <https://w3id.org/evidence-kg/id/response/tower/blinatumomab/cr-crh-cri> "
        "<https://w3id.org/evidence-kg/ontology#responders> ?r } }"
    )
    assert int(row["r"].value) == 119


# --- regressions ----------------------------------------------------------------------------------

FIXTURE_TEXT = FIXTURE.read_text(encoding="utf-8")


def _report_for(tmp_path: Path, text: str, shapes, *, reference: bool = False):  # type: ignore[no-untyped-def]
    path = tmp_path / "graph.ttl"
    path.write_text(text, encoding="utf-8")
    return validate(read_rdf(path), shapes=shapes, reference=reference)


@pytest.mark.parametrize("reference", [False, True], ids=["fast", "reference"])
def test_a_missing_value_is_found_on_both_paths(tmp_path: Path, shapes, reference: bool) -> None:  # type: ignore[no-untyped-def]
    # A rule whose $this occurs only inside FILTER NOT EXISTS matched nothing once run over the whole graph.
    text = FIXTURE_TEXT.replace('    ekg:percent 4.9 ; ekg:percentText "4.9" ;\n', "")
    text = text.replace(
        '    ekg:responders 119 ;\n    ekg:denominator 271 ;\n    ekg:percent 43.9 ; ekg:percentText "43.9" ;\n', ""
    )
    messages = {f.message for f in _report_for(tmp_path, text, shapes, reference=reference).violations}
    assert messages == {
        "an adverse-event incidence needs a percent or a count",
        "a response needs responders or a percent (a number or a state)",
    }


@pytest.mark.parametrize(
    ("count", "conforms"),
    [('"271"^^xsd:nonNegativeInteger', True), ('"271"^^xsd:integer', True), ('"-1"^^xsd:nonNegativeInteger', False), ('"271.0"', False)],
)
def test_counts_are_non_negative_whole_numbers(tmp_path: Path, shapes, count: str, conforms: bool) -> None:  # type: ignore[no-untyped-def]
    # Oxigraph stores xsd:nonNegativeInteger as xsd:integer, so both datatypes must pass, and the sign be checked.
    text = FIXTURE_TEXT.replace("    ekg:patientsEnrolled 405 ;", f"    ekg:patientsEnrolled {count} ;")
    report = _report_for(tmp_path, text, shapes)
    assert report.conforms is conforms, [f.message for f in report.findings]


def test_report_text_is_printed_verbatim_not_as_markup(tmp_path: Path) -> None:
    path = tmp_path / "markup.ttl"
    path.write_text(FIXTURE_TEXT.replace('ekg:phase "III" ;', 'ekg:phase "[bold]III[/bold]" ;'), encoding="utf-8")
    result = run_kg("validate", str(path))
    assert result.code == 1
    assert "  value:   [bold]III[/bold]" in result.stdout.splitlines()


def test_broken_shapes_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ShapesError, match="no shapes"):
        shapes_graph(tmp_path)
    (tmp_path / "bad.ttl").write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\nsh:x sh:y\n", encoding="utf-8")
    with pytest.raises(ShapesError, match=r"bad\.ttl"):
        shapes_graph(tmp_path)


def test_ill_typed_literal_is_a_finding_not_a_logged_traceback(tmp_path: Path) -> None:
    path = tmp_path / "ill-typed.ttl"
    path.write_text(FIXTURE_TEXT.replace("ekg:pValue 0.001 ;", 'ekg:pValue "p<0.001"^^xsd:decimal ;'), encoding="utf-8")
    result = run_kg("validate", str(path))
    assert result.code == 1
    assert "ekg:pValue is at most one xsd:decimal between 0 and 1" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path, shapes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bom.ttl"
    path.write_bytes(b"\xef\xbb\xbf" + FIXTURE_TEXT.encode("utf-8"))
    assert validate(read_rdf(path), shapes=shapes).conforms
