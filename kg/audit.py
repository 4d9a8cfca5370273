"""Coverage of the review by table, and every conflict and as-printed inconsistency, read from the graph.

Row coverage compares the graph with the rows printed in the review's own tables (kg.review_text),
so a row a curator dropped shows up as uncovered rather than as a smaller, plausible count.
"""

from __future__ import annotations

from pathlib import Path

from kg.engine import EmbeddedEngine
from kg.querylib import get
from kg.results import rows
from kg.review_text import ReviewRow, table_rows

COLUMNS = [
    "table", "review rows", "rows covered", "studies", "cohorts",
    "outcome measurements", "response measurements", "adverse-event incidences", "comparisons",
]


def _records(engine: EmbeddedEngine, name: str) -> list[dict[str, str]]:
    names, table = rows(engine.select(get(name).text))
    return [dict(zip(names, row, strict=True)) for row in table]


def _ref_set(ref_list: str) -> set[str]:
    return {"data-on-file" if r == "data on file" else r for r in ref_list.split(";") if r}


def row_is_covered(row: ReviewRow, cohorts: list[dict[str, str]]) -> bool:
    """Some cohort of this table, reported by the row's references, in the row group's setting."""
    for cohort in cohorts:
        if cohort.get("table") != row.table or not set(row.refs) <= _ref_set(cohort.get("ref", "")):
            continue
        if row.setting is None or cohort.get("setting") in (row.setting, "mixed"):
            return True
    return False


def run_audit(home: Path) -> dict:
    engine = EmbeddedEngine.open(home)
    cohorts = _records(engine, "cohorts")
    review_rows = table_rows()
    uncovered = [r for r in review_rows if not row_is_covered(r, cohorts)]
    counts = {r["table"]: r for r in _records(engine, "coverage-by-table")}
    tables = []
    for table in sorted({r.table for r in review_rows} | set(counts)):
        printed = [r for r in review_rows if r.table == table]
        found = counts.get(table, {})
        tables.append(
            {
                "table": table,
                "review rows": len(printed),
                "rows covered": len([r for r in printed if r not in uncovered]),
                **{c: int(found.get(c.replace(" ", "_").replace("-", "_")) or 0) for c in COLUMNS[3:]},
            }
        )
    conflicts = [{"label": r["conflict_label"], "note": r["note"]} for r in _records(engine, "conflicts")]
    inconsistent = [{"label": r["label"], "note": r["problem"]} for r in _records(engine, "printed-inconsistencies")]
    return {
        "columns": COLUMNS,
        "tables": tables,
        "uncovered_rows": [{"table": r.table, "line": r.line, "section": r.section, "row": r.label} for r in uncovered],
        "conflicts": conflicts,
        "printed_inconsistencies": inconsistent,
    }
