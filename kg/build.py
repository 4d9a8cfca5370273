"""The one-way pipeline: sources -> RDF -> validation -> release (dump + store), refusing bad data whole."""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import Quad

from kg import paths
from kg import vocabulary as v
from kg.graph import build_quads
from kg.loading import Curation, load_sources
from kg.ontology import ontology_quads
from kg.release import Release, nquads_lines, write_release
from kg.validation import Report, shapes_graph

Step = Callable[[str], None]


class ValidationFailed(RuntimeError):
    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(f"the graph does not conform to the shapes: {len(report.violations)} violation(s)")


@dataclass
class BuildResult:
    release: Release | None
    counts: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    report: Report | None = None


def graph_quads(curation: Curation, *, ontology: Path | None = None, mappings: Path | None = None) -> list[Quad]:
    from kg.mappings import mapping_quads  # the SSSOM tables are optional for a synthetic sources folder

    return [*ontology_quads(ontology), *build_quads(curation), *mapping_quads(mappings or paths.MAPPINGS)]


def counts(curation: Curation, lines: list[str]) -> dict[str, int]:
    """Record counts; `lines` is the N-Quads dump (one quad a line, graph name last)."""
    conflict = f" <{v.RDF}type> <{v.EKG}Conflict> <"
    return {
        "publications": len(curation.references) + 1,
        "studies": len(curation.studies),
        "cohorts": len(curation.cohorts),
        "outcome measurements": len(curation.outcomes),
        "response measurements": len(curation.responses),
        "adverse-event incidences": len(curation.adverse_events),
        "comparisons": len(curation.comparisons),
        "conflicts": sum(1 for line in lines if conflict in line),
        # A triple is a line without its graph name: distinct strings hash far faster than Triple objects.
        "triples": len({line[: line.rfind(" <")] for line in lines}),
        "quads": len(lines),
    }


def dump_digest(lines: list[str]) -> str:
    """sha256 of the sorted quads' N-Quads forms without the final ' .' (what `str(quad)` gives)."""
    return hashlib.sha256("\n".join(line[:-2] for line in sorted(lines)).encode()).hexdigest()


def build(
    *,
    sources: Path | None = None,
    home: Path | None = None,
    ontology: Path | None = None,
    shapes: Path | None = None,
    mappings: Path | None = None,
    check: bool = True,
    step: Step = lambda _: None,
    workers: int | None = None,
) -> BuildResult:
    """Build a release; raise SourceErrors or ValidationFailed and leave the current release as it was."""
    # The pipeline makes millions of small objects and no garbage cycles worth collecting while it runs:
    # the cyclic collector's full passes over them cost more than half the build time at 10^6 triples.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(sources, home, ontology, shapes, mappings, check, step, workers)
    finally:
        if was_enabled:
            gc.enable()


def _build(
    sources: Path | None,
    home: Path | None,
    ontology: Path | None,
    shapes: Path | None,
    mappings: Path | None,
    check: bool,
    step: Step,
    workers: int | None,
) -> BuildResult:
    from kg.batched_validation import validate_batched

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step("reading sources")
    curation = load_sources(sources or paths.SOURCES)
    timings["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    step("building RDF")
    quads = graph_quads(curation, ontology=ontology, mappings=mappings)
    lines = nquads_lines(quads)
    del quads  # from here on the N-Quads lines are the graph
    timings["rdf"] = time.perf_counter() - t0
    result_counts = counts(curation, lines)
    del curation

    report = None
    if check:
        t0 = time.perf_counter()
        step("validating with SHACL")
        report = validate_batched(lines, shapes=shapes_graph(shapes), workers=workers)
        timings["validate"] = time.perf_counter() - t0
        if not report.conforms:
            raise ValidationFailed(report)

    t0 = time.perf_counter()
    step("writing release")
    manifest = {"counts": result_counts, "sha256": dump_digest(lines), "validated": check, "sources": str(sources or paths.SOURCES)}
    release = write_release(home or paths.home(), lines, manifest)
    timings["write"] = time.perf_counter() - t0
    return BuildResult(release=release, counts=result_counts, timings=timings, report=report)
