"""The `kg` command: a thin typer layer over the library's plain functions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, BinaryIO, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kg import paths

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="evidence-kg: build, validate, query, export and serve the evidence graph."
)
out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


HomeOpt = Annotated[Optional[Path], typer.Option("--home", help="where builds and the store live (default: ./build or $KG_HOME)")]


@app.command()
def build(
    sources: Annotated[Optional[Path], typer.Option(help="curated sources folder")] = None,
    home: HomeOpt = None,
    no_validate: Annotated[bool, typer.Option("--no-validate", help="skip the SHACL gate (never for releases)")] = False,
) -> None:
    """Build the graph from curated sources, validate it, and swap it in as the current release."""
    from kg.build import ValidationFailed
    from kg.build import build as run_build
    from kg.loading import SourceErrors
    from kg.sourcefile import SourceError
    from kg.validation import ShapesError

    try:
        with out.status("building") as status:
            result = run_build(sources=sources, home=home, check=not no_validate, step=lambda s: status.update(s))
    except (SourceErrors, SourceError) as exc:
        errors = exc.errors if isinstance(exc, SourceErrors) else [exc]
        for e in errors:
            err.print(f"[red]{escape(str(e))}[/]", highlight=False, soft_wrap=True)
        fail(f"{len(errors)} problem(s) in the sources; nothing was built, the previous release is unchanged")
    except ValidationFailed as exc:
        _print_report(exc.report, err)
        fail(f"{exc}; nothing was published, the previous release is unchanged")
    except ShapesError as exc:
        fail(f"{exc}; nothing was published, the previous release is unchanged")
    table = Table(title="built", show_header=False)
    for key, value in result.counts.items():
        table.add_row(key, str(value))
    for key, seconds in result.timings.items():
        table.add_row(f"time: {key}", f"{seconds:.2f} s")
    out.print(table)
    out.print(f"release: {result.release.path if result.release else '-'}")


def _print_report(report, console: Console) -> None:  # type: ignore[no-untyped-def]
    """One block per finding, never wrapped: a message stays on one line to read and to grep."""

    for f in report.findings:
        console.print(f"[bold]{f.severity}[/] {escape(f.focus)}", highlight=False, soft_wrap=True)
        for label, text in (("path", f.path), ("value", f.value), ("message", f.message)):
            if text:
                console.print(f"  {label + ':':<8} {escape(text)}", highlight=False, soft_wrap=True)


@app.command()
def validate(
    file: Annotated[
        Optional[Path], typer.Argument(help="RDF file (Turtle, N-Triples, N-Quads, TriG, JSON-LD, RDF/XML); default: the current build")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="report format: table, turtle or json")] = "table",
    reference: Annotated[bool, typer.Option(help="run pyshacl alone (the reference validator; slow on big graphs)")] = False,
    home: HomeOpt = None,
) -> None:
    """Validate RDF against the SHACL shapes and print the report; exit 1 if it does not conform."""
    from kg.rdfinput import RdfInputError, read_rdf
    from kg.release import NoRelease, current
    from kg.validation import ShapesError, validate_store
    from kg.validation import validate as run_validate

    if fmt not in ("table", "turtle", "json"):
        fail(f"--format must be table, turtle or json, not {fmt!r}", 2)
    try:
        if file is None and not reference:
            # The current build's store, validated where it lies: nothing is re-parsed or copied.
            report = validate_store(current(home or paths.home()).open_store())
        else:
            report = run_validate(read_rdf(file or current(home or paths.home()).dump_path), reference=reference)
    except (RdfInputError, ShapesError, NoRelease) as exc:
        fail(str(exc))
    if fmt == "turtle":
        sys.stdout.write(report.to_turtle())
    elif fmt == "json":
        sys.stdout.write(report.to_json() + "\n")
    else:
        _print_report(report, out)
        others = len(report.findings) - len(report.violations)
        summary = f"{len(report.violations)} violation(s)" + (f", {others} warning(s)" if others else "")
        out.print("[green]conforms[/]" + (f" ({others} warning(s))" if others else "") if report.conforms else f"[red]{summary}[/]")
    if not report.conforms:
        raise typer.Exit(1)


@app.command("queries")
def list_queries() -> None:
    """List the stored-query library with summaries and parameters."""

    from kg.querylib import QueryError, library

    table = Table(title="stored queries")
    for col in ("name", "summary", "parameters"):
        table.add_column(col, overflow="fold")
    try:
        queries = library()
    except QueryError as exc:
        fail(str(exc))
    for q in queries.values():
        # escape(): "[a|b]" would otherwise be read as rich markup and vanish
        table.add_row(escape(q.name), escape(q.summary), escape(", ".join(p.describe() for p in q.parameters)))
    out.print(table)
    out.print(f"{len(queries)} queries; run one with `kg query NAME [--param key=value ...]`")


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
    from kg.querylib import QueryError, get, parse_params
    from kg.release import NoRelease
    from kg.results import FORMATS, markdown, rows, serialize_result

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}", 2)
    try:
        stored = get(name)
        text = stored.bind(parse_params(param or []))
    except QueryError as exc:
        fail(str(exc), 2)
    try:
        result = engine_for(endpoint, home).select(text)
    except (EngineError, NoRelease) as exc:
        fail(str(exc))
    if fmt in ("csv", "tsv", "json", "xml"):
        sys.stdout.buffer.write(serialize_result(result, fmt))
        return
    names, table_rows = rows(result)
    if fmt == "markdown":
        sys.stdout.write(markdown(names, table_rows))
        return
    table = Table(title=escape(f"{name}: {stored.summary}"))
    for col in names:
        table.add_column(escape(col), overflow="fold")
    for row in table_rows:
        table.add_row(*(escape(cell) for cell in row))
    out.print(table)
    out.print(f"{len(table_rows)} row(s)")


BaseUrlOpt = Annotated[str, typer.Option("--base-url", help="where the service runs, for the VoID links", envvar="KG_BASE_URL")]


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="turtle, nt, nq, trig, jsonld, xml, or void (VoID/DCAT)")] = "turtle",
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="file to write (default: stdout); with --all, a folder")] = None,
    gzip_: Annotated[bool, typer.Option("--gzip", help="gzip the output (no timestamp: same input, same bytes)")] = False,
    graph: Annotated[Optional[str], typer.Option("--graph", "-g", help="only this graph: ontology, data, mappings or provenance")] = None,
    all_: Annotated[bool, typer.Option("--all", help="write every format, plain and gzipped, and void.ttl into the -o folder")] = False,
    base_url: BaseUrlOpt = "http://127.0.0.1:8000",
    home: HomeOpt = None,
) -> None:
    """Export the current build in an RDF format, deterministically (same sources, same bytes)."""
    from kg.dataset_description import description_bytes
    from kg.export import EXPORT_FORMATS, ExportError, atomic_file, export_folder, gzipped, write_export
    from kg.release import NoRelease, current

    if fmt not in (*EXPORT_FORMATS, "void"):
        fail(f"--format must be one of {', '.join(EXPORT_FORMATS)}, void, not {fmt!r}", 2)
    if all_ and not output:
        fail("--all needs -o FOLDER", 2)
    if fmt == "void" and graph:
        fail("--graph does not apply to --format void", 2)

    def write(out: BinaryIO) -> None:
        # Streamed: a release of 10^7 triples is exported without being held in memory.
        if fmt == "void":
            out.write(description_bytes(release, "turtle", base_url=base_url))
        elif gzip_:
            with gzipped(out) as z:
                write_export(release, fmt, z, graph)
        else:
            write_export(release, fmt, out, graph)

    try:
        release = current(home or paths.home())
        if all_:
            for path in export_folder(release, output, base_url=base_url):  # type: ignore[arg-type]
                err.print(f"wrote {path} ({path.stat().st_size} bytes)", highlight=False)
            return
        if output:
            with atomic_file(output) as f:
                write(f)
            err.print(f"wrote {output} ({output.stat().st_size} bytes)", highlight=False)
        else:
            write(sys.stdout.buffer)
    except (NoRelease, ExportError) as exc:
        fail(str(exc), 2 if isinstance(exc, ExportError) else 1)


@app.command()
def describe(
    fmt: Annotated[str, typer.Option("--format", "-f", help="turtle, nt, jsonld or xml")] = "turtle",
    base_url: BaseUrlOpt = "http://127.0.0.1:8000",
    home: HomeOpt = None,
) -> None:
    """Print the VoID/DCAT description of the current build: version, licence, counts, prefixes, endpoint, dumps."""
    from kg.dataset_description import FORMATS, description_bytes
    from kg.release import NoRelease, current

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}", 2)
    try:
        sys.stdout.buffer.write(description_bytes(current(home or paths.home()), fmt, base_url=base_url))
    except NoRelease as exc:
        fail(str(exc))


@app.command()
def push(
    endpoint: Annotated[Optional[str], typer.Option(help="SPARQL 1.1 Update endpoint (Oxigraph: .../update)")] = None,
    graph_store: Annotated[Optional[str], typer.Option("--graph-store", help="Graph Store Protocol endpoint (Oxigraph: .../store)")] = None,
    method: Annotated[str, typer.Option(help="auto (update if --endpoint, else gsp), update (one request), gsp (PUT per graph)")] = "auto",
    graph: Annotated[Optional[list[str]], typer.Option("--graph", "-g", help="push only this named graph (repeatable)")] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="triples per INSERT DATA request; 0 = all in one atomic request")] = 0,
    user: Annotated[Optional[str], typer.Option(help="user name (HTTP Basic, or Digest with --digest)", envvar="KG_PUSH_USER")] = None,
    password: Annotated[Optional[str], typer.Option(help="password (better: $KG_PUSH_PASSWORD)", envvar="KG_PUSH_PASSWORD")] = None,
    token: Annotated[Optional[str], typer.Option(help="bearer token (better: $KG_PUSH_TOKEN)", envvar="KG_PUSH_TOKEN")] = None,
    digest: Annotated[bool, typer.Option("--digest", help="HTTP Digest authentication (Virtuoso's /sparql-auth)")] = False,
    timeout: Annotated[float, typer.Option(help="seconds per request")] = 300.0,
    home: HomeOpt = None,
) -> None:
    """Load the current build into a SPARQL 1.1 store, replacing its four named graphs."""
    from kg.export import ExportError
    from kg.push import PushError, Target
    from kg.push import push as run_push
    from kg.release import NoRelease, current

    if not endpoint and not graph_store:
        fail("give --endpoint (SPARQL Update) and/or --graph-store (Graph Store Protocol)", 2)
    target = Target(endpoint, graph_store, user=user, password=password, token=token, digest=digest, timeout=timeout)
    try:
        report = run_push(current(home or paths.home()), target, method=method, graphs=graph, chunk_size=chunk_size)
    except (NoRelease, PushError, ExportError) as exc:
        fail(str(exc))
    for iri, n in report.graphs.items():
        out.print(f"{iri}: {n} triples", highlight=False)
    how = "in one transaction" if report.atomic else "not as one transaction"
    summary = f"{report.requests} request(s), {how}, {report.bytes_sent} bytes, {report.seconds:.2f} s"
    out.print(f"pushed by {report.method} in {summary}", highlight=False)


@app.command()
def docs(
    output: Annotated[Path, typer.Option("-o", "--output", help="folder to write index.html (and the ontology's Turtle) into")],
) -> None:
    """Write the ontology's HTML documentation (pyLODE), the same page the service serves at /ontology."""
    from kg.ontology_docs import DocsError, write_docs

    try:
        for path in write_docs(output):
            err.print(f"wrote {path} ({path.stat().st_size} bytes)", highlight=False)
    except DocsError as exc:
        fail(str(exc))


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
    endpoint: Annotated[
        Optional[str],
        typer.Option(help="serve this SPARQL 1.1 query endpoint (e.g. Oxigraph's .../query) instead of the local build (or KG_ENDPOINT)"),
    ] = None,
    home: HomeOpt = None,
    access_log: Annotated[bool, typer.Option(help="log every request (uvicorn's access log; it costs ~0.1 ms a request)")] = True,
) -> None:
    """Serve the current build over HTTP (SPARQL endpoint, stored queries, exports), or a remote store loaded by `kg push`."""
    import os

    import uvicorn

    from kg.engine import check_endpoint
    from kg.release import NoRelease, current
    from service.settings import Settings

    if endpoint is not None:
        try:
            os.environ["KG_ENDPOINT"] = check_endpoint(endpoint)
        except ValueError as exc:
            fail(f"--endpoint: {exc}", 2)
    try:
        settings = Settings.from_env()  # every bad setting is refused here, before the server starts
    except ValueError as exc:
        fail(str(exc), 2)
    if settings.endpoint is None:
        try:
            current(home or paths.home())
        except NoRelease as exc:
            fail(str(exc))
    else:
        note = f"serving the SPARQL endpoint {settings.endpoint}: every query goes there; no local build is read"
        err.print(note, highlight=False, soft_wrap=True)
    if home:
        os.environ["KG_HOME"] = str(home)
    uvicorn.run("service.app:create_app", factory=True, host=host, port=port, log_level="info", access_log=access_log)


@app.command()
def synth(
    studies: Annotated[int, typer.Option("--studies", min=1, help="number of synthetic studies to write")],
    out_dir: Annotated[Path, typer.Option("--out", help="sources folder to write (its review/ and vocabulary/ are replaced)")],
    seed: Annotated[int, typer.Option(help="random seed: the same seed writes byte-identical files")] = 0,
) -> None:
    """Write a synthetic sources folder for scale tests: real curated studies resampled and renamed."""
    from kg.synth import synthesize

    try:
        written = synthesize(studies, out_dir, seed=seed)
    except (OSError, ValueError) as exc:
        fail(str(exc))
    err.print(f"wrote {out_dir}: " + ", ".join(f"{n} {k}" for k, n in written.items()), highlight=False, soft_wrap=True)


def main() -> None:
    app()
