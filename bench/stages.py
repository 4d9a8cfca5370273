"""One benchmark stage per process: `python -m bench.stages STAGE ARGS...` prints one JSON object.

Each stage runs in a fresh interpreter so that its peak memory (ru_maxrss, own and children's) is its
own, and so that nothing warmed up by an earlier stage flatters a later one.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from pyoxigraph import Store

THROUGHPUT_QUERY = "one study: cohorts"  # the query the concurrent clients send, to both servers
PREFIXES = """PREFIX ekg: <https://w3id.org/evidence-kg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024  # Linux reports KiB


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000, "n": len(ordered)}


def timed(run: Callable[[], object], reps: int, budget_s: float = 20.0) -> dict[str, float]:
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t0)
        if time.perf_counter() > deadline and len(samples) >= 3:
            break
    return percentiles(samples)


def bench_queries(home: Path) -> dict[str, str]:
    """The measured queries, bound to one synthetic study / cohort picked the same way at every size."""
    from kg.querylib import get

    store = Store.read_only(str(Path(home) / "current" / "store"))
    row = next(
        iter(
            store.query(
                PREFIXES + "SELECT ?c ?label WHERE { ?c a ekg:Cohort ; ekg:inStudy/rdfs:label ?label } ORDER BY ?c LIMIT 1",
                use_default_graph_as_union=True,
            )
        )
    )
    cohort, study_label = row["c"], row["label"]

    def bound(name: str, block: str) -> str:
        text = get(name).text
        at = text.index("{", text.upper().index("WHERE"))
        return text[: at + 1] + "\n  " + block + "\n" + text[at + 1 :]

    return {
        "one cohort: outcomes": bound("outcomes", f"VALUES ?c {{ {cohort} }}"),
        "one cohort: adverse events": bound("adverse_events", f"VALUES ?c {{ {cohort} }}"),
        "one study: cohorts": bound("cohorts", f"VALUES ?study {{ {study_label} }}"),
    }


def stage_build(sources: str, home: str) -> dict:
    from kg.build import build

    t0 = time.perf_counter()
    result = build(sources=Path(sources), home=Path(home))
    total = time.perf_counter() - t0
    return {"timings": {**result.timings, "total": total}, "counts": result.counts, "peak_mb": peak_mb()}


def stage_whole_validate(home: str) -> dict:
    """The reference: pyshacl alone (kg.validation.validate(reference=True)) over the whole graph."""
    from pyoxigraph import RdfFormat, parse

    from kg.validation import data_graph, shapes_graph, validate

    dump = Path(home) / "current" / "graph.nq"
    t0 = time.perf_counter()
    report = validate(data_graph(parse(path=str(dump), format=RdfFormat.N_QUADS)), shapes=shapes_graph(), reference=True)
    return {"seconds": time.perf_counter() - t0, "conforms": report.conforms, "peak_mb": peak_mb()}


def stage_export(home: str) -> dict:
    """`kg export` of the whole release to files, as a user would run it."""
    import tempfile

    from kg.export import export_file
    from kg.release import current

    release = current(Path(home))
    out = {}
    with tempfile.TemporaryDirectory(prefix="kg-export-", dir=home) as folder:
        for fmt in ("nq", "nt", "turtle"):
            t0 = time.perf_counter()
            path = export_file(release, fmt, Path(folder) / f"export.{fmt}")
            out[fmt] = {"seconds": time.perf_counter() - t0, "bytes": path.stat().st_size}
            path.unlink()
    return {"formats": out, "peak_mb": peak_mb()}


def stage_query(home: str, reps: str = "300") -> dict:
    from kg.engine import EmbeddedEngine
    from kg.results import serialize_result

    t0 = time.perf_counter()
    engine = EmbeddedEngine.open(Path(home))
    opened = time.perf_counter() - t0
    queries = bench_queries(Path(home))
    results = {}
    for name, text in queries.items():
        rows = len(list(engine.select(text)))
        # Serialized as a client gets it (CSV), so the engine's lazy iterator is consumed in full.
        results[name] = {**timed(lambda t=text: serialize_result(engine.select(t), "csv"), int(reps)), "rows": rows}
    return {"open_store_s": opened, "queries": results, "peak_mb": peak_mb()}


def stage_rdflib(home: str, reps: str = "5") -> dict:
    """Baseline: parse the dump into rdflib's own store and run the same queries with rdflib's SPARQL engine."""
    import rdflib

    dump = Path(home) / "current" / "graph.nq"
    t0 = time.perf_counter()
    dataset = rdflib.Dataset(default_union=True)
    dataset.parse(dump, format="nquads")
    parsed = time.perf_counter() - t0
    results = {}
    for name, text in bench_queries(Path(home)).items():
        results[name] = {**timed(lambda t=text: list(dataset.query(t)), int(reps), budget_s=60), "rows": len(list(dataset.query(text)))}
    return {"parse_s": parsed, "queries": results, "peak_mb": peak_mb()}


def _http_timings(port: int, path_for: Callable[[str], str], queries: dict[str, str], reps: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Accept": "text/csv", "Accept-Encoding": "identity"}

    def get(path: str) -> bytes:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")
        return body

    results = {}
    for name, text in queries.items():
        path = path_for(text)
        get(path)  # warm
        results[name] = timed(lambda p=path: get(p), reps)
    conn.close()
    return results


def _throughput(port: int, path: str, clients: int = 8, requests: int = 800) -> dict:
    """Requests per second with `clients` concurrent keep-alive clients sharing `requests` GETs of `path`."""
    from concurrent.futures import ThreadPoolExecutor

    def client(n: int) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        ok = 0
        for _ in range(n):
            conn.request("GET", path, headers={"Accept": "text/csv", "Accept-Encoding": "identity"})
            response = conn.getresponse()
            response.read()
            ok += response.status == 200
        conn.close()
        return ok

    shares = [requests // clients + (i < requests % clients) for i in range(clients)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        ok = sum(pool.map(client, shares))
    elapsed = time.perf_counter() - t0
    return {"clients": clients, "requests": requests, "ok": ok, "per_s": requests / elapsed}


def _wait(port: int, path: str, timeout: float = 120) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return time.perf_counter() - t0
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"port {port} did not answer {path} within {timeout} s")


def stage_serve(home: str, reps: str = "200") -> dict:
    """`kg serve` on the built store: start-up time until /health answers, then /sparql latency."""
    from tests.conftest import free_port, stop

    port = free_port()
    env = {**os.environ, "KG_HOME": home}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", "--home", home, "--port", str(port), "--no-access-log"],  # like the bare server
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        _wait(port, "/health")
        startup = time.perf_counter() - t0
        queries = bench_queries(Path(home))
        latency = _http_timings(port, lambda q: "/sparql?" + urllib.parse.urlencode({"query": q}), queries, int(reps))
        throughput = _throughput(port, "/sparql?" + urllib.parse.urlencode({"query": queries[THROUGHPUT_QUERY]}))
    finally:
        stop(proc)
    return {"startup_s": startup, "queries": latency, "throughput": throughput}


def stage_oxigraph(home: str, workdir: str, reps: str = "200") -> dict:
    """Baseline: a bare Oxigraph server loaded (`oxigraph load`, then `optimize`) with the same dump, union default graph."""
    from tests.conftest import _oxigraph_binary, free_port, stop

    binary = _oxigraph_binary()
    location = Path(workdir) / "oxigraph-server"
    if location.exists():
        import shutil

        shutil.rmtree(location)
    location.parent.mkdir(parents=True, exist_ok=True)
    dump = Path(home) / "current" / "graph.nq"
    t0 = time.perf_counter()
    subprocess.run([binary, "load", "--location", str(location), "--file", str(dump)], check=True, capture_output=True)
    loaded = time.perf_counter() - t0
    # Compacted, as `kg build` compacts its store (Store.optimize): an uncompacted store reads slower at 10^7.
    subprocess.run([binary, "optimize", "--location", str(location)], check=True, capture_output=True)
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(port, "/query?query=ASK%7B%7D")
        startup = time.perf_counter() - t0
        queries = bench_queries(Path(home))
        latency = _http_timings(port, lambda q: "/query?" + urllib.parse.urlencode({"query": q}), queries, int(reps))
        throughput = _throughput(port, "/query?" + urllib.parse.urlencode({"query": queries[THROUGHPUT_QUERY]}))
    finally:
        stop(proc)
    return {"load_s": loaded, "startup_s": startup, "queries": latency, "throughput": throughput}


STAGES = {
    "build": stage_build,
    "whole-validate": stage_whole_validate,
    "export": stage_export,
    "query": stage_query,
    "rdflib": stage_rdflib,
    "serve": stage_serve,
    "oxigraph": stage_oxigraph,
}

if __name__ == "__main__":
    stage, *args = sys.argv[1:]
    sys.stdout.write(json.dumps(STAGES[stage](*args)) + "\n")
