"""The review's tables read straight from its text, to check that every printed row reached the graph.

This is independent of the curated sources: if a curator drops a row, the audit sees it here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kg import paths

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


@dataclass(frozen=True)
class ReviewRow:
    table: str
    line: int
    section: str
    label: str
    refs: tuple[str, ...]

    @property
    def setting(self) -> str | None:
        """The row group's disease setting where the table splits by it (Tables 4 and 6)."""
        if self.section.startswith("MRD-positive"):
            return "mrd-positive"
        if self.section.startswith("R/R"):
            return "relapsed-refractory"
        return None


def _refs(cell: str) -> tuple[str, ...]:
    refs = [s.translate(_SUPERSCRIPT) for s in re.findall(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+", cell)]
    refs += [r for group in re.findall(r"\^\{([\d,]+)\}", cell) for r in group.split(",")]
    if not refs and "data on file" in cell.lower():
        refs = ["data-on-file"]
    return tuple(refs)


def table_rows(path: Path | None = None) -> list[ReviewRow]:
    """Every data row of Tables 1-6 with its row group and reference numbers."""
    lines = (path or paths.REVIEW_TEXT).read_text(encoding="utf-8").splitlines()
    rows: list[ReviewRow] = []
    table = section = None
    for number, line in enumerate(lines, start=1):
        heading = re.match(r"^Table (\d)\.", line)
        if heading:
            table = f"Table {heading.group(1)}"
            continue
        if table is None or "\t" not in line:
            continue
        cells = line.split("\t")
        if cells[0].startswith("Reference"):
            continue
        label = re.sub(r"<[^>]+>", "", cells[0]).strip()
        if all(not c.strip() for c in cells[1:]):
            section = label
            continue
        rows.append(ReviewRow(table=table, line=number, section=section or "", label=label, refs=_refs(cells[0])))
    return rows
