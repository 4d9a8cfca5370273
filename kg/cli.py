"""The `kg` command: a thin typer layer over the library's plain functions."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from kg import paths

app = typer.Typer(add_completion=False, no_args_is_help=True, help="evidence-kg: build, validate, query, export and serve the evidence graph.")
out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


HomeOpt = Annotated[Optional[Path], typer.Option("--home", help="where builds and the store live (default: ./build or $KG_HOME)")]


@app.command()
def build(
    sources: Annotated[Optional[Path], typer.Option(help="curated sources folder")] = None,
    home: HomeOpt = None,
    no_validate: Annotated[bool, typer.Option("--no-validate", help="skip the SHACL gate (never for releases)")] = False,
) -> None:
    """Build the graph from curated sources, validate it, and swap it in as the current release."""
    from kg.build import ValidationFailed, build as run_build
    from kg.loading import SourceErrors
    from kg.sourcefile import SourceError

    try:
        with out.status("building") as status:
            result = run_build(sources=sources, home=home, check=not no_validate, step=lambda s: status.update(s))
    except (SourceErrors, SourceError) as exc:
        errors = exc.errors if isinstance(exc, SourceErrors) else [exc]
        for e in errors:
            err.print(f"[red]{e}[/]", highlight=False, soft_wrap=True)
        fail(f"{len(errors)} problem(s) in the sources; nothing was built, the previous release is unchanged")
    except ValidationFailed as exc:
        _print_report(exc.report, err)
        fail(f"{exc}; nothing was written, the previous release is unchanged")
    table = Table(title="built", show_header=False)
    for key, value in result.counts.items():
        table.add_row(key, str(value))
    for key, seconds in result.timings.items():
        table.add_row(f"time: {key}", f"{seconds:.2f} s")
    out.print(table)
    out.print(f"release: {result.release.path if result.release else '-'}")


def _print_report(report, console: Console) -> None:  # type: ignore[no-untyped-def]
    table = Table(title="SHACL report" + (" (conforms)" if report.conforms else ""), show_lines=False)
    for col in ("severity", "focus node", "path", "value", "message"):
        table.add_column(col, overflow="fold")
    for f in report.findings:
        table.add_row(f.severity, f.focus, f.path, f.value, f.message)
    console.print(table)


@app.command()
def validate(
    file: Annotated[Optional[Path], typer.Argument(help="RDF file (Turtle, N-Triples, N-Quads, TriG, JSON-LD, RDF/XML); default: the current build")] = None,
    fmt: Annotated[str, typer.Option("--format", help="report format: table, turtle or json")] = "table",
    home: HomeOpt = None,
) -> None:
    """Validate RDF against the SHACL shapes and print the report; exit 1 if it does not conform."""
    from kg.rdfinput import RdfInputError, read_rdf
    from kg.validation import validate as run_validate

    if fmt not in ("table", "turtle", "json"):
        fail(f"--format must be table, turtle or json, not {fmt!r}", 2)
    try:
        graph = read_rdf(file) if file else _current_graph(home)
    except RdfInputError as exc:
        fail(str(exc))
    report = run_validate(graph)
    if fmt == "turtle":
        sys.stdout.write(report.to_turtle())
    elif fmt == "json":
        sys.stdout.write(report.to_json() + "\n")
    else:
        _print_report(report, out)
        out.print("[green]conforms[/]" if report.conforms else f"[red]{len(report.violations)} violation(s)[/]")
    if not report.conforms:
        raise typer.Exit(1)


def _current_graph(home: Path | None):  # type: ignore[no-untyped-def]
    from kg.rdfinput import read_rdf
    from kg.release import NoRelease, current

    try:
        return read_rdf(current(home or paths.home()).dump_path)
    except NoRelease as exc:
        fail(str(exc))


@app.command("queries")
def list_queries() -> None:
    """List the stored-query library with summaries and parameters."""
    from kg.querylib import library

    table = Table(title="stored queries")
    for col in ("name", "summary", "parameters"):
        table.add_column(col, overflow="fold")
    for q in library().values():
        params = ", ".join(
            f"{p.name}:{p.type}" + (f"={p.default}" if p.default else "") + (f" [{'|'.join(p.allowed)}]" if p.allowed else "")
            for p in q.parameters
        )
        table.add_row(q.name, q.summary, params)
    out.print(table)


@app.command()
def query(
    name: Annotated[str, typer.Argument(help="stored query name (see `kg queries`)")],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="parameter as key=value (repeatable)")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, tsv, json, xml or markdown")] = "table",
    endpoint: Annotated[Optional[str], typer.Option(help="run on this SPARQL 1.1 endpoint instead of the embedded store")] = None,
    home: HomeOpt = None,
) -> None:
    """Run a stored query on the embedded store (default) or a remote SPARQL endpoint."""
    from kg.engine import EngineError, engine_for
    from kg.querylib import QueryError, get
    from kg.release import NoRelease
    from kg.results import FORMATS, markdown, rows, serialize_result

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}", 2)
    values: dict[str, str] = {}
    for item in param or []:
        if "=" not in item:
            fail(f"--param {item!r} is not key=value", 2)
        key, value = item.split("=", 1)
        values[key.strip()] = value
    try:
        stored = get(name)
        text = stored.bind(values)
        result = engine_for(endpoint, home).select(text)
    except (QueryError, EngineError, NoRelease) as exc:
        fail(str(exc))
    if fmt in ("csv", "tsv", "json", "xml"):
        sys.stdout.buffer.write(serialize_result(result, fmt))
        return
    names, table_rows = rows(result)
    if fmt == "markdown":
        sys.stdout.write(markdown(names, table_rows))
        return
    table = Table(title=f"{name}: {stored.summary}")
    for col in names:
        table.add_column(col, overflow="fold")
    for row in table_rows:
        table.add_row(*row)
    out.print(table)
    out.print(f"{len(table_rows)} row(s)")


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="turtle, nt, nq, jsonld, xml or trig")] = "turtle",
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="file to write (default: standard output)")] = None,
    gzip_: Annotated[bool, typer.Option("--gzip", help="gzip the output")] = False,
    home: HomeOpt = None,
) -> None:
    """Export the current build in an RDF format, deterministically (same sources, same bytes)."""
    from kg.export import EXPORT_FORMATS, export_bytes
    from kg.release import NoRelease, current

    if fmt not in EXPORT_FORMATS:
        fail(f"--format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}", 2)
    try:
        data = export_bytes(current(home or paths.home()), fmt)
    except NoRelease as exc:
        fail(str(exc))
    if gzip_:
        data = gzip.compress(data, mtime=0)
    if output:
        tmp = output.with_name(output.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(output)
        err.print(f"wrote {output} ({len(data)} bytes)")
    else:
        sys.stdout.buffer.write(data)


@app.command()
def audit(
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    home: HomeOpt = None,
) -> None:
    """Per review table: rows, cohorts, measurements and AE incidences in the graph, and every conflict."""
    from kg.audit import run_audit

    try:
        report = run_audit(home or paths.home())
    except Exception as exc:  # noqa: BLE001 - one-line reason for any failure
        fail(str(exc))
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title="coverage by review table")
    for col in report["columns"]:
        table.add_column(col)
    for row in report["tables"]:
        table.add_row(*[str(row[c]) for c in report["columns"]])
    out.print(table)
    for row in report["uncovered_rows"]:
        err.print(f"[red]not in the graph:[/] {row['table']} line {row['line']} ({row['section']}): {row['row']}")
    conflicts = Table(title=f"{len(report['conflicts'])} table-vs-text conflicts")
    for col in ("conflict", "note"):
        conflicts.add_column(col, overflow="fold")
    for c in report["conflicts"]:
        conflicts.add_row(c["label"], c["note"])
    out.print(conflicts)
    inconsistent = Table(title=f"{len(report['printed_inconsistencies'])} values inconsistent as printed")
    for col in ("measurement", "what is wrong"):
        inconsistent.add_column(col, overflow="fold")
    for c in report["printed_inconsistencies"]:
        inconsistent.add_row(c["label"], c["note"])
    out.print(inconsistent)
    if report["uncovered_rows"]:
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    home: HomeOpt = None,
) -> None:
    """Serve the current build over HTTP (SPARQL endpoint, stored queries, exports)."""
    import uvicorn

    from kg.release import NoRelease, current

    try:
        current(home or paths.home())
    except NoRelease as exc:
        fail(str(exc))
    if home:
        import os

        os.environ["KG_HOME"] = str(home)
    uvicorn.run("service.app:create_app", factory=True, host=host, port=port, log_level="info")


def main() -> None:
    app()
