"""Coverage of the review by table, and every conflict and as-printed inconsistency, read from the graph."""

from __future__ import annotations

from pathlib import Path

from kg.engine import EmbeddedEngine
from kg.querylib import get
from kg.results import rows

COLUMNS = ["table", "studies", "cohorts", "outcome measurements", "response measurements", "adverse-event incidences", "comparisons"]


def _records(engine: EmbeddedEngine, name: str) -> list[dict[str, str]]:
    names, table = rows(engine.select(get(name).text))
    return [dict(zip(names, row)) for row in table]


def run_audit(home: Path) -> dict:
    engine = EmbeddedEngine.open(home)
    coverage = _records(engine, "coverage-by-table")
    tables = [{"table": r["table"], **{c: int(r[c.replace(" ", "_").replace("-", "_")] or 0) for c in COLUMNS[1:]}} for r in coverage]
    conflicts = [{"label": r["conflict_label"], "note": r["note"]} for r in _records(engine, "conflicts")]
    inconsistent = [{"label": r["label"], "note": r["problem"]} for r in _records(engine, "printed-inconsistencies")]
    return {"columns": COLUMNS, "tables": tables, "conflicts": conflicts, "printed_inconsistencies": inconsistent}
