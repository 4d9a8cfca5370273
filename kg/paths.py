"""Where the project's files are: the checkout this package lives in, unless the environment says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("KG_ROOT", Path(__file__).resolve().parents[1]))
SOURCES = ROOT / "sources"
ONTOLOGY = ROOT / "ontology" / "evidence-kg.ttl"
SHAPES = ROOT / "shapes"
QUERIES = ROOT / "queries"
MAPPINGS = ROOT / "mappings"
REVIEW_TEXT = SOURCES / "review" / "kantarjian-2023.txt"


def home() -> Path:
    """Where builds and stores live (`KG_HOME`, default `<checkout>/build`)."""
    return Path(os.environ.get("KG_HOME", ROOT / "build"))
