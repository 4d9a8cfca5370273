"""The release's canonical N-Quads dump, written as the graph is built, never held in memory whole.

Quads arrive in chunks and are appended, unsorted, to one part file per named graph. `finish` sorts
each part with GNU sort (byte order under LC_ALL=C is Unicode code point order, which is how Python
sorts str) dropping repeated quads, and concatenates the parts in graph-name order: the dump is
ordered by (graph, subject, predicate, object) text and two builds of the same sources are
byte-identical. Its sha256 is the digest of the file itself (what `sha256sum graph.nq` prints).
Counting happens on the sorted files at C speed, except for the triples several graphs share.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pyoxigraph import Quad, RdfFormat, serialize

from kg import vocabulary as v

SORT_MEMORY = "25%"  # of RAM per sort run: enough to sort 10^7 lines without temporary files on most machines


class DumpError(RuntimeError):
    pass


@dataclass(frozen=True)
class DumpStats:
    quads: int
    triples: int  # distinct triples over the union of the graphs
    conflicts: int
    sha256: str
    graphs: dict[str, int]  # graph IRI -> its quads (what a server would otherwise count at start-up)


class DumpWriter:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._parts: dict[str, Path] = {}

    def add(self, quads: Iterable[Quad]) -> None:
        by_graph: dict[str, list[Quad]] = defaultdict(list)
        for q in quads:
            by_graph[q.graph_name.value].append(q)
        for graph, part in by_graph.items():
            path = self._parts.setdefault(graph, self.folder / f"part-{len(self._parts):03d}.nq")
            with path.open("ab") as f:
                serialize(part, f, format=RdfFormat.N_QUADS)

    def finish(self, dump: Path) -> DumpStats:
        """Write the sorted dump to `dump` and return its statistics; the part files are removed."""
        sort = shutil.which("sort")
        if sort is None:
            raise DumpError("GNU sort (coreutils) is needed to write the dump and was not found on PATH")
        env = {**os.environ, "LC_ALL": "C"}
        graphs: dict[str, Path] = {}
        for graph in sorted(self._parts):
            part = self._parts[graph]
            graphs[graph] = part.with_suffix(".sorted")
            with graphs[graph].open("wb") as out:
                done = subprocess.run(
                    [sort, "-u", "-S", SORT_MEMORY, "--parallel=2", "-T", str(self.folder), str(part)],
                    stdout=out, stderr=subprocess.PIPE, env=env, check=False,
                )  # fmt: skip
            if done.returncode != 0:
                raise DumpError(f"sort of the {graph} quads failed: {done.stderr.decode(errors='replace').strip()}")
            part.unlink()
        digest = hashlib.sha256()
        with dump.open("wb") as out:
            counted = {graph: _append(path, out, digest) for graph, path in graphs.items()}
        stats = _statistics(graphs, counted)
        shutil.rmtree(self.folder, ignore_errors=True)
        return DumpStats(**stats, sha256=digest.hexdigest())


CHUNK = 1 << 22
CONFLICT = f" <{v.RDF}type> <{v.EKG}Conflict> <".encode()


def _append(path: Path, out: BinaryIO, digest: hashlib._Hash) -> tuple[int, int]:
    """Copy a sorted graph file onto the dump, hashing it; its lines, and lines typing an ekg:Conflict,
    counted on the same whole-line chunks at C speed (one read of each file for all three)."""
    lines = conflicts = 0
    rest = b""
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            rest, chunk = chunk[cut:], chunk[:cut]
            lines += chunk.count(b"\n")
            conflicts += chunk.count(CONFLICT)
    return lines, conflicts


def _triples(path: Path) -> Iterator[bytes]:
    """A sorted graph file's lines without their graph name (all lines of one file have the same one)."""
    with path.open("rb") as f:
        for line in f:
            yield line[: line.rfind(b" <", 0, len(line) - 2)]


def _statistics(graphs: dict[str, Path], counted: dict[str, tuple[int, int]]) -> dict:
    quads = {graph: n for graph, (n, _) in counted.items()}
    # Lines are distinct within a graph, so only a triple in several graphs repeats: collect the smaller
    # graphs' triples in a set and look the largest graph's up in it (Python touches its lines once).
    largest = max(quads, key=lambda g: quads[g]) if quads else None
    others: set[bytes] = set()
    for graph, path in graphs.items():
        if graph != largest:
            others.update(_triples(path))
    shared = sum(1 for t in _triples(graphs[largest]) if t in others) if largest is not None and others else 0
    return {
        "quads": sum(quads.values()),
        "triples": len(others) + quads.get(largest, 0) - shared if largest is not None else 0,
        "conflicts": sum(c for _, c in counted.values()),
        "graphs": dict(sorted(quads.items())),
    }
