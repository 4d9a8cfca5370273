"""The one-way pipeline: sources -> RDF -> validation -> release (dump + store), refusing bad data whole."""

from __future__ import annotations

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
from kg.release import Release, write_release
from kg.validation import Report, data_graph, shapes_graph, validate

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


def counts(curation: Curation, quads: list[Quad]) -> dict[str, int]:
    conflicts = sum(1 for q in quads if q.predicate.value == v.RDF + "type" and q.object.value == v.EKG + "Conflict")
    return {
        "publications": len(curation.references) + 1,
        "studies": len(curation.studies),
        "cohorts": len(curation.cohorts),
        "outcome measurements": len(curation.outcomes),
        "response measurements": len(curation.responses),
        "adverse-event incidences": len(curation.adverse_events),
        "comparisons": len(curation.comparisons),
        "conflicts": conflicts,
        "triples": len({q.triple for q in quads}),
        "quads": len(quads),
    }


def build(
    *,
    sources: Path | None = None,
    home: Path | None = None,
    ontology: Path | None = None,
    shapes: Path | None = None,
    mappings: Path | None = None,
    check: bool = True,
    step: Step = lambda _: None,
) -> BuildResult:
    """Build a release; raise SourceErrors or ValidationFailed and leave the current release as it was."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step("reading sources")
    curation = load_sources(sources or paths.SOURCES)
    timings["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    step("building RDF")
    quads = graph_quads(curation, ontology=ontology, mappings=mappings)
    timings["rdf"] = time.perf_counter() - t0
    result_counts = counts(curation, quads)

    report = None
    if check:
        t0 = time.perf_counter()
        step("validating with SHACL")
        report = validate(data_graph(quads), shapes=shapes_graph(shapes))
        timings["validate"] = time.perf_counter() - t0
        if not report.conforms:
            raise ValidationFailed(report)

    t0 = time.perf_counter()
    step("writing release")
    digest = hashlib.sha256("\n".join(sorted(f"{q}" for q in quads)).encode()).hexdigest()
    manifest = {"counts": result_counts, "sha256": digest, "validated": check, "sources": str(sources or paths.SOURCES)}
    release = write_release(home or paths.home(), quads, manifest)
    timings["write"] = time.perf_counter() - t0
    return BuildResult(release=release, counts=result_counts, timings=timings, report=report)
