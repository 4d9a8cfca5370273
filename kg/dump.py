"""The release's canonical N-Quads dump, written as the graph is built, never held in memory whole.

Quads arrive in chunks and are appended, unsorted, to one part file per named graph. `finish` sorts
each part with GNU sort (byte order under LC_ALL=C is Unicode code point order, which is how Python
sorts str) dropping repeated quads, and concatenates the parts in graph-name order: the dump is
ordered by (graph, subject, predicate, object) text and two builds of the same sources are
byte-identical. Its sha256 is the digest of the file itself (what `sha256sum graph.nq` prints).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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
        with dump.open("wb") as out:
            for graph in sorted(self._parts):
                out.flush()
                done = subprocess.run(
                    [sort, "-u", "-S", SORT_MEMORY, "--parallel=2", "-T", str(self.folder), str(self._parts[graph])],
                    stdout=out, stderr=subprocess.PIPE, env=env, check=False,
                )
                if done.returncode != 0:
                    raise DumpError(f"sort of the {graph} quads failed: {done.stderr.decode(errors='replace').strip()}")
        shutil.rmtree(self.folder, ignore_errors=True)
        return dump_stats(dump)


def dump_stats(dump: Path) -> DumpStats:
    """Counts and digest of a dump in canonical order (each graph's lines sorted and distinct)."""
    conflict = f" <{v.RDF}type> <{v.EKG}Conflict> <".encode()
    digest = hashlib.sha256()
    quads = conflicts = 0
    # A triple is a line without its graph name. Lines are distinct within a graph, so only triples in
    # several graphs repeat: count the largest graph's lines and look up the others' triples in a set.
    per_graph: dict[bytes, int] = defaultdict(int)
    with dump.open("rb") as f:
        for line in f:
            digest.update(line)
            quads += 1
            per_graph[line[line.rfind(b" <", 0, len(line) - 2) :]] += 1
            if conflict in line:
                conflicts += 1
    largest = max(per_graph, key=lambda g: per_graph[g]) if per_graph else b""
    others: set[bytes] = set()
    shared = 0
    with dump.open("rb") as f:
        for line in f:
            cut = line.rfind(b" <", 0, len(line) - 2)
            if line[cut:] != largest:
                others.add(line[:cut])
    if others:
        with dump.open("rb") as f:
            for line in f:
                cut = line.rfind(b" <", 0, len(line) - 2)
                if line[cut:] == largest and line[:cut] in others:
                    shared += 1
    triples = len(others) + per_graph.get(largest, 0) - shared
    graphs = {key.decode().strip().removesuffix(" .").strip("<>"): n for key, n in sorted(per_graph.items())}
    return DumpStats(quads=quads, triples=triples, conflicts=conflicts, sha256=digest.hexdigest(), graphs=graphs)
