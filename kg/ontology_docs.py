"""HTML documentation of the ontology, made by pyLODE (offline: it reads only the ontology file)."""

from __future__ import annotations

from pathlib import Path

from kg import paths
from kg.export import write_atomically


class DocsError(RuntimeError):
    pass


def ontology_html(ontology: Path | None = None) -> str:
    """pyLODE's single-page documentation of the ontology."""
    path = ontology or paths.ONTOLOGY
    if not path.is_file():
        raise DocsError(f"{path}: ontology file not found")
    try:
        from pylode import OntPub
    except ImportError:
        raise DocsError("pyLODE is not installed: pip install pylode (a dependency of evidence-kg)") from None
    try:
        return OntPub(ontology=str(path)).make_html()
    except Exception as exc:  # noqa: BLE001 - pyLODE raises many types; the user needs the reason
        raise DocsError(f"{path}: pyLODE could not document the ontology: {exc}") from None


def write_docs(folder: Path, ontology: Path | None = None) -> list[Path]:
    """index.html plus the ontology source and the JSON-LD context it documents, in `folder`."""
    from kg.jsonld_context import CONTEXT_PATH

    path = ontology or paths.ONTOLOGY
    html = ontology_html(path)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"index.html": html.encode("utf-8"), "evidence-kg.ttl": path.read_bytes()}
    if CONTEXT_PATH.is_file():
        files["context.jsonld"] = CONTEXT_PATH.read_bytes()
    written = []
    for name, data in files.items():
        write_atomically(folder / name, data)
        written.append(folder / name)
    return written
