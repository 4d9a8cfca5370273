"""Synthetic sources for scale tests (`kg synth`), and the build's SHACL validation against pyshacl on many errors at once."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from pyoxigraph import Quad, RdfFormat, parse

from kg import vocabulary as v
from kg.build import graph_quads
from kg.loading import load_sources
from kg.release import current
from kg.synth import distributions, synthesize
from kg.validation import data_graph, shapes_graph, validate
from tests.conftest import ROOT, run_kg

BROKEN = ROOT / "tests" / "broken"
EDITS = yaml.safe_load((BROKEN / "source-edits.yaml").read_text(encoding="utf-8"))["edits"]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def shapes():  # type: ignore[no-untyped-def]
    return shapes_graph()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "sources"
    result = run_kg("synth", "--studies", "20", "--out", str(out), "--seed", "7")
    assert result.code == 0, result.stderr
    return out


def test_same_seed_same_bytes_other_seed_other_studies(synthetic: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    synthesize(20, again, seed=7)
    assert _files(again) == _files(synthetic)
    other = tmp_path / "other"
    synthesize(20, other, seed=8)
    assert _files(other) != _files(synthetic)


def test_synthetic_folder_is_shaped_like_the_review(synthetic: Path) -> None:
    assert (synthetic / "publications.yaml").is_file()
    assert sorted(p.name for p in (synthetic / "vocabulary").glob("*.yaml")) >= ["adverse-event-terms.yaml"]
    files = sorted((synthetic / "review").rglob("*.yaml"))
    assert files and all(re.fullmatch(r"table[1-6]|text", f.parent.name) for f in files)
    curation = load_sources(synthetic)
    assert len(curation.studies) == 20  # exactly the number asked for
    assert all(re.fullmatch(r"s\d{6}-[a-z0-9-]+", sid) for sid in curation.studies)


def test_distributions_follow_the_real_sources(tmp_path: Path) -> None:
    real = distributions(ROOT / "sources")
    synthesize(600, tmp_path / "big", seed=1)
    synth = distributions(tmp_path / "big")
    for key in ("cohorts per study", "measurements per cohort", "AE incidences per cohort", "share of intervals 95% CI"):
        assert synth[key] == pytest.approx(real[key], rel=0.2), key
    assert synth["share of bounds NE/NR"] > 0 and synth["share of printed inconsistencies"] > 0


def test_synthetic_sources_build_validate_and_answer_stored_queries(synthetic: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    built = run_kg("build", "--sources", str(synthetic), home=home)
    assert built.code == 0, built.stderr
    manifest = current(home).manifest
    assert manifest["validated"] is True and manifest["counts"]["studies"] == 20
    assert manifest["counts"]["conflicts"] > 0  # table/text pairs of the real sources came along
    cohorts = run_kg("query", "cohorts", "--format", "csv", home=home)
    assert cohorts.code == 0, cohorts.stderr
    rows = cohorts.stdout.strip().splitlines()[1:]
    assert len(rows) == manifest["counts"]["cohorts"]
    assert all("(synthetic " in row for row in rows)
    outcomes = run_kg("query", "outcomes", "--format", "csv", home=home)
    assert outcomes.code == 0 and len(outcomes.stdout.strip().splitlines()) - 1 == manifest["counts"]["outcome measurements"]


# --- the build's validation (SHACL in Oxigraph) == pyshacl alone, on graphs with many errors at once ---------


def test_store_validation_equals_pyshacl_on_broken_sources(tmp_path: Path, shapes) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "sources"
    shutil.copytree(ROOT / "sources", target)
    for edit in (e for e in EDITS if e["stage"] == "shapes"):
        path = target / edit["file"]
        path.write_text(path.read_text(encoding="utf-8").replace(edit["original"], edit["replacement"], 1), encoding="utf-8")
    graph = data_graph(graph_quads(load_sources(target)))
    fast, reference = validate(graph, shapes=shapes), validate(graph, shapes=shapes, reference=True)
    assert not reference.conforms and len(reference.violations) >= len([e for e in EDITS if e["stage"] == "shapes"])
    assert fast.conforms == reference.conforms
    assert fast.findings == reference.findings


_KINDS = "study|cohort|outcome|response|adverse-event|comparison|conflict"


def _renamed_apart(text: str, tag: str) -> str:
    """Give a broken graph's own records distinct IRIs (relative `<cohort/...>` or absolute); shared nodes stay shared."""
    text = re.sub(rf"<({_KINDS})/", rf"<\1/{tag}-", text)
    return re.sub(rf"(https://w3id\.org/evidence-kg/id/(?:{_KINDS})/)", rf"\1{tag}-", text)


def test_store_validation_equals_pyshacl_on_the_whole_broken_graph_corpus(shapes) -> None:  # type: ignore[no-untyped-def]
    """Every broken graph of tests/broken/, its records renamed apart, in one graph."""
    quads: list[Quad] = []
    graph = v.GRAPHS["data"]
    for i, path in enumerate(sorted(BROKEN.glob("*.ttl"))):
        text = _renamed_apart(path.read_text(encoding="utf-8", errors="replace"), f"f{i:02d}")
        try:
            triples = list(parse(text.encode(), format=RdfFormat.TURTLE))
        except SyntaxError:
            continue  # the malformed files of the corpus are tested as parse errors in test_shapes.py
        quads += [Quad(t.subject, t.predicate, t.object, graph) for t in triples]
    data = data_graph(quads)
    fast, reference = validate(data, shapes=shapes), validate(data, shapes=shapes, reference=True)
    assert len(reference.violations) > 30
    assert fast.conforms == reference.conforms
    assert fast.findings == reference.findings
