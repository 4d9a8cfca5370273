"""The fast validation path (all in Oxigraph: compiled core constraints, kg.shacl_core, and SHACL-SPARQL
constraints, kg.shacl_sparql) must report exactly what pyshacl alone reports, on every broken input of
the corpus, and must not hand any of the project's constraints back to pyshacl."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.rdfinput import RdfInputError, read_rdf
from kg.validation import Report, shapes_graph, validate

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.ttl"))


def _key(report: Report) -> set[tuple[str, str, str, str, str]]:
    return {(f.focus, f.path, f.value, f.message, f.severity) for f in report.findings}


@pytest.fixture(scope="module")
def shapes():  # type: ignore[no-untyped-def]
    return shapes_graph()


@pytest.mark.parametrize("path", BROKEN, ids=[p.name for p in BROKEN])
def test_fast_path_equals_pyshacl(path: Path, shapes) -> None:  # type: ignore[no-untyped-def]
    try:
        graph = read_rdf(path)
    except RdfInputError:
        pytest.skip("a parse-error case: nothing to validate")
    fast, reference = validate(graph, shapes=shapes), validate(graph, shapes=shapes, reference=True)
    assert fast.conforms == reference.conforms
    assert _key(fast) == _key(reference)


def test_corpus_is_not_empty() -> None:
    assert len(BROKEN) >= 10


def test_every_project_constraint_runs_in_oxigraph(shapes) -> None:  # type: ignore[no-untyped-def]
    from kg import shacl_core, shacl_sparql

    found, left = shacl_sparql.split(shapes)
    plan = shacl_core.compile_shapes(shapes, with_sparql=left)
    assert found and len(plan) > 100
    assert not left and plan.residual is None, plan.unsupported
