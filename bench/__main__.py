"""`python -m bench [--sizes 30,300,3000]`: every stage of the pipeline at each size, with the baselines.

For each size (a number of synthetic studies, `kg synth`), in this order and each in its own process:
build (load sources, build RDF into the sorted dump, bulk-load the store, SHACL validation in
Oxigraph, publish), the pure-pyshacl reference validation it replaces (up to --whole-cap triples),
export (N-Quads, N-Triples, Turtle), stored queries on the embedded store (p50/p99), the same queries
through rdflib's own store and SPARQL engine (up to --rdflib-cap triples), through a bare Oxigraph
server and through `kg serve` (start-up time, /sparql latency, and /sparql throughput with 8
concurrent clients). Prints a table, writes bench/results/bench-<time>.json (+ latest.json) and
a log-log plot of seconds against triples with the fitted exponent of each stage.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
console = Console()


def run_stage(*args: str, timeout: float = 3600) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.stages", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"stage {args[0]} failed:\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) on log(x): 1.0 is linear cost."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else None


def measure(studies: int, work: Path, seed: int, whole_cap: int, rdflib_cap: int, reps: int) -> dict:
    sources, home = work / f"sources-{studies}", work / f"home-{studies}"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kg", "synth", "--studies", str(studies), "--out", str(sources), "--seed", str(seed)],
                   check=True, capture_output=True, cwd=ROOT)  # fmt: skip
    row: dict = {"studies": studies, "synth_s": time.perf_counter() - t0}
    console.print(f"[bold]{studies} studies[/]: building")
    row["build"] = run_stage("build", str(sources), str(home))
    triples = row["build"]["counts"]["triples"]
    row["triples"] = triples
    if triples <= whole_cap:
        console.print("  whole-graph validation (reference)")
        row["whole_validate"] = run_stage("whole-validate", str(home))
    console.print("  export")
    row["export"] = run_stage("export", str(home))
    console.print("  embedded queries")
    row["query"] = run_stage("query", str(home), str(reps))
    if triples <= rdflib_cap:
        console.print("  rdflib baseline")
        row["rdflib"] = run_stage("rdflib", str(home))
    console.print("  bare Oxigraph server")
    row["oxigraph"] = run_stage("oxigraph", str(home), str(work / f"oxigraph-{studies}"), str(reps))
    console.print("  kg serve")
    row["serve"] = run_stage("serve", str(home), str(reps))
    return row


def flat(row: dict) -> dict[str, float | None]:
    """The numbers of one size that the table, the plot and the exponents use (seconds unless named)."""
    b = row["build"]["timings"]
    q, ox, srv = row["query"]["queries"], row["oxigraph"]["queries"], row["serve"]["queries"]
    export = row["export"]["formats"]
    out: dict[str, float | None] = {
        "load sources": b["load"],
        "build RDF + sorted dump": b["rdf"],
        "bulk-load store": b["load_store"],
        "validate (SHACL in Oxigraph)": b.get("validate"),
        "validate (pyshacl reference)": row.get("whole_validate", {}).get("seconds"),
        "optimize + publish": b["write"],
        "build total": b["total"],
        "export nt": export["nt"]["seconds"],
        "export turtle": export["turtle"]["seconds"],
        "build + exports": b["total"] + export["nt"]["seconds"] + export["turtle"]["seconds"],
        "oxigraph load (baseline)": row["oxigraph"]["load_s"],
        "rdflib parse (baseline)": row.get("rdflib", {}).get("parse_s"),
        "open store": row["query"]["open_store_s"],
        "kg serve start-up": row["serve"]["startup_s"],
        "/sparql req/s, 8 clients (kg serve)": row["serve"]["throughput"]["per_s"],
        "/sparql req/s, 8 clients (bare oxigraph)": row["oxigraph"]["throughput"]["per_s"],
        "build peak MB": row["build"]["peak_mb"],
        "export peak MB": row["export"]["peak_mb"],
    }
    for name in q:
        out[f"{name} p50 ms (embedded)"] = q[name]["p50_ms"]
        out[f"{name} p99 ms (embedded)"] = q[name]["p99_ms"]
        out[f"{name} p50 ms (oxigraph HTTP)"] = ox[name]["p50_ms"]
        out[f"{name} p50 ms (kg serve HTTP)"] = srv[name]["p50_ms"]
        if "rdflib" in row:
            out[f"{name} p50 ms (rdflib)"] = row["rdflib"]["queries"][name]["p50_ms"]
    return out


def ratios(f: dict[str, float | None]) -> dict[str, float | None]:
    def ratio(a: str, b: str) -> float | None:
        return f[a] / f[b] if f.get(a) and f.get(b) else None

    out = {
        "pyshacl / Oxigraph validation": ratio("validate (pyshacl reference)", "validate (SHACL in Oxigraph)"),
        "rdflib parse / our store load": ratio("rdflib parse (baseline)", "bulk-load store"),
        "bare oxigraph / kg serve throughput": ratio("/sparql req/s, 8 clients (bare oxigraph)", "/sparql req/s, 8 clients (kg serve)"),
    }
    for key in f:
        if key.endswith("p50 ms (embedded)"):
            name = key.removesuffix(" p50 ms (embedded)")
            out[f"{name}: rdflib / embedded"] = ratio(f"{name} p50 ms (rdflib)", key)
            out[f"{name}: kg serve / bare oxigraph (HTTP)"] = ratio(f"{name} p50 ms (kg serve HTTP)", f"{name} p50 ms (oxigraph HTTP)")
    return out


def table(rows: list[dict]) -> tuple[Table, dict[str, float | None]]:
    flats = [flat(r) for r in rows]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    t = Table(title="evidence-kg pipeline, seconds unless named (2 cores)")
    t.add_column("stage")
    for r in rows:
        t.add_column(f"{r['studies']} studies\n{r['triples']:,} triples", justify="right")
    t.add_column("exponent", justify="right")
    exponents: dict[str, float | None] = {}
    triples = [r["triples"] for r in rows]
    for k in keys:
        values = [f.get(k) for f in flats]
        e = slope([x for x, y in zip(triples, values, strict=True) if y], [y for y in values if y])
        exponents[k] = e
        t.add_row(k, *[("-" if v is None else f"{v:,.3g}") for v in values], "-" if e is None else f"{e:.2f}")
    rats = [ratios(f) for f in flats]
    for k in dict.fromkeys(k for r in rats for k in r):
        values = [r.get(k) for r in rats]
        if any(values):
            t.add_row(f"ratio {k}", *[("-" if v is None else f"{v:,.3g}x") for v in values], "")
    return t, exponents


def plot(rows: list[dict], exponents: dict[str, float | None], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flats = [flat(r) for r in rows]
    triples = [r["triples"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 6))
    for k in ("load sources", "build RDF + sorted dump", "bulk-load store", "validate (SHACL in Oxigraph)", "validate (pyshacl reference)",
              "export nt", "export turtle", "build total", "rdflib parse (baseline)", "oxigraph load (baseline)"):  # fmt: skip
        pts = [(x, f[k]) for x, f in zip(triples, flats, strict=True) if f.get(k)]
        if pts:
            e = exponents.get(k)
            ax.plot(*zip(*pts, strict=True), marker="o", label=f"{k} (slope {e:.2f})" if e else k)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("triples")
    ax.set_ylabel("seconds")
    ax.set_title("evidence-kg: time per stage against graph size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(
    sizes: Annotated[str, typer.Option(help="comma-separated numbers of synthetic studies")] = "10,30,100",
    seed: Annotated[int, typer.Option(help="synthetic data seed")] = 1,
    reps: Annotated[int, typer.Option(help="repetitions per query")] = 200,
    whole_cap: Annotated[int, typer.Option(help="run the pure-pyshacl reference validation only up to this many triples")] = 120_000,
    rdflib_cap: Annotated[int, typer.Option(help="run the rdflib baseline only up to this many triples")] = 100_000,
    workdir: Annotated[Path | None, typer.Option(help="where synthetic sources and builds go (default: a temporary folder)")] = None,
) -> None:
    """Run every stage at each size and print the table; write JSON and a PNG plot under bench/results/."""
    studies = [int(s) for s in sizes.split(",") if s.strip()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as tmp:
        work = workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = [measure(n, work, seed, whole_cap, rdflib_cap, reps) for n in studies]
    t, exponents = table(rows)
    console.print(t)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    result = {"sizes": studies, "seed": seed, "rows": rows, "flat": [flat(r) for r in rows], "ratios": [ratios(flat(r)) for r in rows],
              "exponents": exponents, "cpus": os.cpu_count()}  # fmt: skip
    for name in (f"bench-{stamp}.json", "latest.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2))
    plot(rows, exponents, RESULTS / f"bench-{stamp}.png")
    plot(rows, exponents, RESULTS / "latest.png")
    console.print(f"wrote {RESULTS / f'bench-{stamp}.json'} and .png")


if __name__ == "__main__":
    typer.run(main)
