"""The core pipeline through the CLI and the Python API, checked against values printed in the review."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest
import rdflib

from kg import paths
from kg.loading import SourceErrors, load_sources
from kg.release import current
from kg.values import parse_p_value, parse_printed
from tests.conftest import run_kg

REVIEW = paths.REVIEW_TEXT.read_text(encoding="utf-8")


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def outcomes_csv(built_home: Path) -> list[dict[str, str]]:
    result = run_kg("query", "outcomes", "--format", "csv", home=built_home, check=True)
    return _csv(result.stdout)


def _find(rows: list[dict[str, str]], **where: str) -> list[dict[str, str]]:
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def test_outcomes_has_tower_median_os_as_printed(outcomes_csv: list[dict[str, str]]) -> None:
    # Review text: "The median OS was significantly longer with blinatumomab [7.7 months (95% CI, 5.6–9.6)]"
    assert "7.7 (5.6–9.6)" in REVIEW
    rows = _find(outcomes_csv, ref="15", endpoint="OS", statistic="median", estimate="7.7")
    assert rows, "TOWER's median OS 7.7 is missing"
    row = rows[0]
    assert (row["lower"], row["upper"], row["interval"], row["unit"]) == ("5.6", "9.6", "95% CI", "months")
    assert row["source"] == "Table 1"


def test_outcomes_has_mt_103_211_median_rfs(outcomes_csv: list[dict[str, str]]) -> None:
    rows = _find(outcomes_csv, ref="14", endpoint="RFS", estimate="5.9")
    assert [(r["lower"], r["upper"], r["interval"]) for r in rows] == [("4.8", "8.3", "95% CI")]


def test_outcomes_keep_ne_bound_as_state_not_number(outcomes_csv: list[dict[str, str]]) -> None:
    # Table 1, ref 17: "censoring for alloHSCT, 7.9 (2.8–NE)" -- 7.9 with an upper bound NE, not 7.9.
    rows = _find(outcomes_csv, ref="17", endpoint="RFS", estimate="7.9")
    assert rows and rows[0]["upper"] == "" and rows[0]["upper_status"] == "NE" and rows[0]["lower"] == "2.8"


def test_outcomes_keep_trailing_zero_digits_as_printed(outcomes_csv: list[dict[str, str]]) -> None:
    # Stein (ref 16): "7.4 (5.0–10.1) overall" -- the store canonicalises 5.0 to 5; the output must not.
    rows = _find(outcomes_csv, ref="16", endpoint="RFS", estimate="7.4")
    assert any(r["lower"] == "5.0" and r["upper"] == "10.1" for r in rows)


def test_cohorts_query_columns_and_tower_arm(built_home: Path) -> None:
    rows = _csv(run_kg("query", "cohorts", "--format", "csv", home=built_home, check=True).stdout)
    for column in ("ref", "study", "cohort", "label", "n", "age_group", "ph_status", "setting", "salvage_line", "source"):
        assert column in rows[0]
    tower = [r for r in rows if r["ref"] == "15" and r["n"] == "271"]
    assert tower and tower[0]["age_group"] == "adult" and tower[0]["ph_status"] == "negative"


def test_adverse_events_attribute_leukopenia_to_ref_17_not_14(built_home: Path) -> None:
    rows = _csv(run_kg("query", "adverse_events", "--format", "csv", home=built_home, check=True).stdout)
    leukopenia = [r for r in rows if r["percent"] == "13.9" and "leukopenia" in r["term"]]
    assert [r["ref"] for r in leukopenia] == ["17"]
    assert leukopenia[0]["grade"] == ">=3"
    assert not _find(rows, ref="14", percent="13.9")


def test_export_turtle_parses_back_to_the_same_triple_count(built_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "graph.ttl"
    run_kg("export", "--format", "turtle", "-o", str(out), home=built_home, check=True)
    graph = rdflib.Graph().parse(out, format="turtle")
    assert len(graph) == current(built_home).manifest["counts"]["triples"]


def test_exports_are_byte_identical_across_builds(built_home: Path, tmp_path: Path) -> None:
    other = tmp_path / "home"
    run_kg("build", home=other, check=True)
    assert current(other).dump_path.read_bytes() == current(built_home).dump_path.read_bytes()
    for fmt in ("turtle", "nt", "trig", "jsonld", "xml"):
        a = run_kg("export", "--format", fmt, home=other, check=True).stdout
        b = run_kg("export", "--format", fmt, home=built_home, check=True).stdout
        assert a == b, fmt


def _broken_copy(tmp_path: Path, file: str, old: str, new: str) -> tuple[Path, int]:
    sources = tmp_path / "sources"
    shutil.copytree(paths.SOURCES, sources)
    target = sources / file
    text = target.read_text(encoding="utf-8")
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return sources, line


def test_malformed_value_is_refused_with_file_and_line(tmp_path: Path, built_home: Path) -> None:
    sources, line = _broken_copy(tmp_path, "review/table1/ref14-topp-2015.yaml", "estimate: 5.9", "estimate: 5.9x")
    before = current(built_home).path
    result = run_kg("build", "--sources", str(sources), home=built_home)
    assert result.code == 1
    assert f"ref14-topp-2015.yaml:{line}" in result.stderr
    assert "'5.9x' is neither a number" in result.stderr
    assert "Traceback" not in result.stderr
    assert current(built_home).path == before


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    sources, line = _broken_copy(tmp_path, "review/table1/ref14-topp-2015.yaml", "    upper: 8.3\n", "    upper: [8.3\n")
    result = run_kg("build", "--sources", str(sources), home=tmp_path / "home")
    assert result.code == 1
    assert re.search(r"ref14-topp-2015\.yaml:\d+: YAML syntax error", result.stderr)
    assert not (tmp_path / "home" / "current").exists()


def test_unknown_field_and_unknown_cohort_are_refused(tmp_path: Path) -> None:
    original = "    statistic: median\n    estimate: 6.1"
    sources, line = _broken_copy(tmp_path, "review/table1/ref14-topp-2015.yaml", original, original.replace("statistic", "statistik"))
    with pytest.raises(SourceErrors) as caught:
        load_sources(sources)
    messages = [str(e) for e in caught.value.errors]
    assert any(f"ref14-topp-2015.yaml:{line}" in m and "unknown field" in m for m in messages)


def test_every_quote_is_verbatim_in_the_review() -> None:
    norm = lambda s: re.sub(r"\s+", " ", s).strip()  # noqa: E731
    review = norm(REVIEW)
    curation = load_sources(paths.SOURCES)
    missing = []
    for group in (list(curation.cohorts.values()), curation.outcomes, curation.responses, curation.adverse_events, curation.comparisons):
        for located in group:
            if norm(located.item.quote) not in review:
                missing.append(f"{located.where}: {located.item.quote!r}")
    assert not missing, "\n".join(missing)


def test_audit_covers_every_printed_table_row(built_home: Path) -> None:
    import json

    result = run_kg("audit", "--format", "json", home=built_home)
    report = json.loads(result.stdout)
    assert report["uncovered_rows"] == []
    assert result.code == 0
    by_table = {t["table"]: t for t in report["tables"]}
    for n in range(1, 7):
        row = by_table[f"Table {n}"]
        assert row["review rows"] > 0 and row["rows covered"] == row["review rows"]
        assert row["outcome measurements"] + row["response measurements"] > 0


def test_printed_values_parse_exactly() -> None:
    assert parse_printed("43.0").text == "43.0" and str(parse_printed("43.0").number) == "43.0"
    assert parse_printed("NE").state == "NotEstimable"
    assert parse_printed("NR").state == "NotReached"
    assert parse_printed("not reported").state == "NotReported"
    with pytest.raises(ValueError):
        parse_printed("5,9")
    p = parse_p_value("<0.001")
    assert (p.relation, p.text) == ("<", "0.001")
    with pytest.raises(ValueError):
        parse_p_value("1.5")


def test_bad_command_arguments_give_one_line_reasons(built_home: Path) -> None:
    result = run_kg("query", "no-such-query", home=built_home)
    assert result.code != 0 and "no stored query named 'no-such-query'" in result.stderr
    result = run_kg("export", "--format", "docx", home=built_home)
    assert result.code == 2 and "--format must be one of" in result.stderr
    result = run_kg("query", "outcomes", home=built_home.parent / "empty-home")
    assert result.code == 1 and "run `kg build` first" in result.stderr


def test_item_refs_follow_what_the_review_cites(built_home: Path) -> None:
    # Table 6 cites ref 61 for NEUF's pediatric R/R row ("5.4 (IQR, 1.7–NE)"); the text gives the
    # same study's 95% CI "5.4 months (95% CI, 3.9–NE)" citing ref 59.
    rows = _csv(run_kg("query", "outcomes", "--format", "csv", home=built_home, check=True).stdout)
    table = [r for r in rows if r["estimate"] == "5.4" and r["interval"] == "IQR" and r["upper_status"] == "NE"]
    text = [r for r in rows if r["estimate"] == "5.4" and r["lower"] == "3.9"]
    assert [r["ref"] for r in table] == ["61"]
    assert [r["ref"] for r in text] == ["59"]


def test_item_refs_must_be_among_the_studys_references(tmp_path: Path) -> None:
    quote = '    quote: "5.9 (4.8–8.3)"'
    sources, _ = _broken_copy(tmp_path, "review/table1/ref14-topp-2015.yaml", quote, quote + "\n    refs: [15]")
    with pytest.raises(SourceErrors) as caught:
        load_sources(sources)
    assert any("refs ['15'] are not among the study's reported_in ['14']" in str(e) for e in caught.value.errors)


def test_manifest_counts_and_digest_are_the_dump_s(built_home: Path) -> None:
    """kg.dump counts while it writes (C-speed chunks, a set only for triples shared by graphs): recount here."""
    import hashlib
    from collections import Counter

    from pyoxigraph import RdfFormat, parse

    release = current(built_home)
    quads = list(parse(path=str(release.dump_path), format=RdfFormat.N_QUADS))
    manifest = release.manifest
    assert len(quads) == len(set(quads)) == manifest["counts"]["quads"]
    assert len({q.triple for q in quads}) == manifest["counts"]["triples"] < len(quads)
    assert manifest["statistics"]["graph_triples"] == dict(Counter(q.graph_name.value for q in quads))
    conflict = "https://w3id.org/evidence-kg/ontology#Conflict"
    typed = sum(1 for q in quads if q.object.value == conflict and q.predicate.value.endswith("#type"))
    assert manifest["counts"]["conflicts"] == typed == 19
    assert manifest["sha256"] == hashlib.sha256(release.dump_path.read_bytes()).hexdigest()
