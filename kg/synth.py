"""Synthetic sources folders for scale tests: the real curation resampled, renamed and multiplied.

A synthetic study is a copy of a real curated study together with everything that hangs on it
(cohorts, subgroups, outcomes, responses, adverse events, table/text pairs that become conflicts,
printed inconsistencies, comparisons). Studies that point at each other (`based_on`, `pooled_from`,
comparisons across studies) form one unit and are copied together, so every reference resolves.
Units are drawn uniformly (a unit of k studies then supplies k studies per draw, as often as it does
in the real sources): the per-study distributions (cohorts per study, measurements per cohort, NE/NR
bounds, interval kinds, conflicts) are those of the real sources, and every copy is valid wherever
the real record is valid.

The same seed writes byte-identical files.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kg import paths
from kg.sourcefile import read_source

RECORDS = ("cohorts", "outcomes", "responses", "adverse_events", "comparisons")
STUDIES_PER_FILE = 100
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class Unit:
    """Real studies that reference each other, with every record that belongs to them."""

    studies: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in RECORDS})

    @property
    def table(self) -> str:
        table = self.studies[0].get("table") or "none"
        return "table" + table.removeprefix("Table ") if table.startswith("Table ") else "text"


@dataclass
class Corpus:
    """The real sources, raw (every scalar still the printed string), cut into units."""

    publications: dict[str, Any]
    vocabulary: list[Path]
    file_terms: list[dict[str, Any]]
    units: list[Unit]


class _Components:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _study_of(cohort_id: str, cohort_study: dict[str, str]) -> str:
    return cohort_study.get(cohort_id, cohort_id.split("/", 1)[0])


def read_corpus(sources: Path | None = None) -> Corpus:
    root = sources or paths.SOURCES
    publications = read_source(root / "publications.yaml").data
    docs = [read_source(p).data for p in sorted((root / "review").rglob("*.yaml"))]
    studies = [s for d in docs for s in d.get("studies") or []]
    cohort_study = {c["id"]: c["study"] for d in docs for c in d.get("cohorts") or []}
    comps = _Components()
    for s in studies:
        comps.find(s["id"])
        for other in s.get("based_on") or []:
            comps.join(s["id"], other)
    for d in docs:
        for c in d.get("cohorts") or []:
            for other in [c.get("parent"), *(c.get("pooled_from") or [])]:
                if other:
                    comps.join(c["study"], _study_of(other, cohort_study))
        for m in d.get("comparisons") or []:
            first, *rest = (_study_of(x, cohort_study) for x in m["cohorts"])
            for other in rest:
                comps.join(first, other)
    roots: dict[str, int] = {}
    units: list[Unit] = []
    for s in studies:
        root_id = comps.find(s["id"])
        if root_id not in roots:
            roots[root_id] = len(units)
            units.append(Unit())
        units[roots[root_id]].studies.append(s)
    unit_index = {s["id"]: roots[comps.find(s["id"])] for s in studies}
    for d in docs:
        for kind in RECORDS:
            for record in d.get(kind) or []:
                cohort = record["id"] if kind == "cohorts" else (record["cohorts"][0] if kind == "comparisons" else record["cohort"])
                units[unit_index[_study_of(cohort, cohort_study)]].records[kind].append(record)
    file_terms = [t for d in docs for t in d.get("terms") or []]
    vocabulary = sorted((root / "vocabulary").glob("*.yaml"))
    return Corpus(publications, vocabulary, file_terms, units)


class _Renamer:
    """Rewrites one copy of a unit: study and cohort ids get the copy's prefix, references get new numbers."""

    def __init__(self, prefix: str, copy: int, numbers: dict[tuple[int, str], str]) -> None:
        self.prefix, self.copy, self.numbers = prefix, copy, numbers

    def study(self, sid: str) -> str:
        return f"{self.prefix}-{sid}"

    def cohort(self, cid: str) -> str:
        return f"{self.prefix}-{cid}"

    def ref(self, number: str) -> str:
        if number == "data-on-file":
            return number
        return self.numbers.setdefault((self.copy, number), str(len(self.numbers) + 1))

    def refs(self, value: Any) -> Any:
        return [self.ref(r) for r in _as_list(value)]

    def item_refs(self, value: Any) -> Any:
        """A record with every per-item `refs:` (the reference cited for one value) renumbered."""
        if isinstance(value, dict):
            return {k: self.refs(v) if k == "refs" else self.item_refs(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.item_refs(v) for v in value]
        return value


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _copy_unit(unit: Unit, r: _Renamer) -> tuple[list[dict], dict[str, list[dict]]]:
    studies = []
    for s in unit.studies:
        s = dict(s)
        s["id"] = r.study(s["id"])
        s["label"] = f"{s['label']} (synthetic {r.copy})"
        if s.get("based_on"):
            s["based_on"] = [r.study(x) for x in _as_list(s["based_on"])]
        s["reported_in"] = r.refs(s.get("reported_in"))
        studies.append(s)
    records: dict[str, list[dict]] = {}
    for kind in RECORDS:
        out = []
        for rec in unit.records[kind]:
            rec = r.item_refs(rec)
            if kind == "cohorts":
                rec["id"], rec["study"] = r.cohort(rec["id"]), r.study(rec["study"])
                if rec.get("parent") and rec["parent"] not in ("none", "null"):
                    rec["parent"] = r.cohort(rec["parent"])
                if rec.get("pooled_from"):
                    rec["pooled_from"] = [r.cohort(x) for x in _as_list(rec["pooled_from"])]
            elif kind == "comparisons":
                rec["cohorts"] = [r.cohort(x) for x in rec["cohorts"]]
            else:
                rec["cohort"] = r.cohort(rec["cohort"])
            out.append(rec)
        records[kind] = out
    return studies, records


def _dump(data: Any, path: Path, header: str) -> None:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + text, encoding="utf-8")


def synthesize(studies: int, out: Path, seed: int = 0, sources: Path | None = None) -> dict[str, int]:
    """Write a sources folder of about `studies` studies (never fewer) into `out`; return counts."""
    if studies < 1:
        raise ValueError("--studies must be at least 1")
    corpus = read_corpus(sources)
    rng = random.Random(seed)
    picks: list[int] = []
    total = 0
    while total < studies:
        left = studies - total
        unit = rng.randrange(len(corpus.units))
        if len(corpus.units[unit].studies) > left:
            # Near the end, draw among units that still fit so the count is exact.
            fitting = [u for u in range(len(corpus.units)) if len(corpus.units[u].studies) <= left]
            unit = fitting[rng.randrange(len(fitting))] if fitting else unit
        picks.append(unit)
        total += len(corpus.units[unit].studies)

    if out.exists():
        for sub in ("review", "vocabulary"):
            shutil.rmtree(out / sub, ignore_errors=True)
    (out / "vocabulary").mkdir(parents=True, exist_ok=True)
    for path in corpus.vocabulary:
        shutil.copyfile(path, out / "vocabulary" / path.name)
    if corpus.file_terms:
        _dump({"terms": corpus.file_terms}, out / "vocabulary" / "terms-from-review-files.yaml", "# Terms the real review files define.\n")

    numbers: dict[tuple[int, str], str] = {}
    counts: Counter[str] = Counter()
    batch: dict[str, list[dict]] = {"studies": [], **{k: [] for k in RECORDS}}
    batch_table = ""
    files = 0

    def flush() -> None:
        nonlocal files, batch
        if batch["studies"]:
            files += 1
            body = {k: v for k, v in batch.items() if v}
            _dump(body, out / "review" / batch_table / f"synth-{files:05d}.yaml", f"# Synthetic studies (seed {seed}), file {files}.\n")
        batch = {"studies": [], **{k: [] for k in RECORDS}}

    for copy, unit_index in enumerate(picks, start=1):
        unit = corpus.units[unit_index]
        if not batch["studies"]:
            batch_table = unit.table
        new_studies, records = _copy_unit(unit, _Renamer(f"s{copy:06d}", copy, numbers))
        batch["studies"] += new_studies
        counts["studies"] += len(new_studies)
        for kind, items in records.items():
            batch[kind] += items
            counts[kind] += len(items)
        if len(batch["studies"]) >= STUDIES_PER_FILE:
            flush()
    flush()

    by_number = {str(ref.get("number")): ref for ref in corpus.publications.get("references", [])}
    references = []
    if "data-on-file" in by_number:
        references.append(by_number["data-on-file"])
    for (copy, old), new in numbers.items():
        ref = dict(by_number.get(old) or {"title": f"Reference {old}"})
        ref["number"] = new
        ref["title"] = f"{ref['title']} (synthetic copy {copy})"
        references.append(ref)
    _dump({"review": corpus.publications["review"], "references": references}, out / "publications.yaml", "# Synthetic publications.\n")
    counts["references"] = len(references)
    counts["files"] = files
    return dict(counts)


def distributions(sources: Path) -> dict[str, float]:
    """Per-study and per-cohort averages of a sources folder, to compare a synthetic folder with the real one."""
    corpus = read_corpus(sources)
    n_studies = sum(len(u.studies) for u in corpus.units)
    records = {k: [r for u in corpus.units for r in u.records[k]] for k in RECORDS}
    n_cohorts = len(records["cohorts"]) or 1
    measurements = records["outcomes"] + records["responses"]
    bounds = [r.get(b) for r in measurements + records["comparisons"] for b in ("lower", "upper") if r.get(b)]
    return {
        "cohorts per study": len(records["cohorts"]) / n_studies,
        "subgroups per study": sum(1 for c in records["cohorts"] if c.get("parent") not in (None, "none", "null")) / n_studies,
        "measurements per cohort": len(measurements) / n_cohorts,
        "AE incidences per cohort": len(records["adverse_events"]) / n_cohorts,
        "comparisons per study": len(records["comparisons"]) / n_studies,
        "share of bounds NE/NR": sum(1 for b in bounds if b in ("NE", "NR")) / (len(bounds) or 1),
        "share of text-sourced measurements": sum(1 for r in measurements if r["source"].startswith("Text:")) / (len(measurements) or 1),
        "share of printed inconsistencies": sum(1 for r in measurements + records["adverse_events"] if r.get("printed_inconsistency"))
        / (len(measurements) + len(records["adverse_events"]) or 1),
        **{
            f"share of intervals {kind}": sum(1 for r in measurements if r.get("interval") == kind) / (len(measurements) or 1)
            for kind in ("95% CI", "range", "IQR")
        },
    }
