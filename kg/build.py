"""The one-way pipeline: sources -> RDF -> validation -> release (dump + store), refusing bad data whole."""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import Quad

from kg import paths
from kg.dataset_description import Statistics
from kg.dump import DumpStats, DumpWriter
from kg.graph import build_quads
from kg.loading import Curation, load_sources
from kg.ontology import ontology_quads
from kg.release import Release, load_store, publish, staging
from kg.validation import Report, shapes_graph, validate_store

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
    """The whole graph in memory (for tests and small graphs; `build` streams it to the dump instead)."""
    from kg.mappings import mapping_quads  # the SSSOM tables are optional for a synthetic sources folder

    return [*ontology_quads(ontology), *build_quads(curation), *mapping_quads(mappings or paths.MAPPINGS)]


def write_graph(curation: Curation, writer: DumpWriter, *, ontology: Path | None = None, mappings: Path | None = None) -> None:
    from kg.mappings import mapping_quads

    writer.add(ontology_quads(ontology))
    build_quads(curation, sink=writer.add)
    writer.add(mapping_quads(mappings or paths.MAPPINGS))


def counts(curation: Curation, stats: DumpStats) -> dict[str, int]:
    return {
        "publications": len(curation.references) + 1,
        "studies": len(curation.studies),
        "cohorts": len(curation.cohorts),
        "outcome measurements": len(curation.outcomes),
        "response measurements": len(curation.responses),
        "adverse-event incidences": len(curation.adverse_events),
        "comparisons": len(curation.comparisons),
        "conflicts": stats.conflicts,
        "triples": stats.triples,
        "quads": stats.quads,
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
    # The pipeline makes millions of small objects and no garbage cycles worth collecting while it runs:
    # the cyclic collector's full passes over them cost more than half the build time at 10^6 triples.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(sources, home, ontology, shapes, mappings, check, step)
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
) -> BuildResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step("reading sources")
    curation = load_sources(sources or paths.SOURCES)
    timings["load"] = time.perf_counter() - t0

    home = home or paths.home()
    with staging(home) as folder:
        # Everything below happens in a hidden staging folder, removed if any step fails: a bad build
        # never leaves a partly written release, and `current` keeps pointing at the last good one.
        t0 = time.perf_counter()
        step("building RDF")
        writer = DumpWriter(folder / "parts")
        write_graph(curation, writer, ontology=ontology, mappings=mappings)
        stats = writer.finish(folder / "graph.nq")
        result_counts = counts(curation, stats)
        del curation, writer
        timings["rdf"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        step("loading the store")
        store = load_store(folder)
        timings["load_store"] = time.perf_counter() - t0

        report = None
        if check:
            t0 = time.perf_counter()
            step("validating with SHACL")
            report = validate_store(store, shapes=shapes_graph(shapes))
            timings["validate"] = time.perf_counter() - t0
            if not report.conforms:
                raise ValidationFailed(report)

        t0 = time.perf_counter()
        step("writing release")
        statistics = Statistics.of(store, triples=stats.triples, graph_triples=stats.graphs)  # what VoID says, so that /void never counts
        store.optimize()
        del store
        manifest = {
            "counts": result_counts,
            "sha256": stats.sha256,  # of graph.nq itself
            "statistics": dataclasses.asdict(statistics),
            "validated": check,
            "sources": str(sources or paths.SOURCES),
        }
        release = publish(home, folder, manifest)
        timings["write"] = time.perf_counter() - t0
    return BuildResult(release=release, counts=result_counts, timings=timings, report=report)
