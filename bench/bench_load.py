"""Load test: many concurrent clients against `kg serve`, a fixed amount of mixed work, then it stops.

    python bench/bench_load.py [--home KG_HOME] [--clients 50] [--requests 3000] [--slow 0]

Starts its own `kg serve` on a free loopback port (nothing else is contacted), then `--clients`
concurrent keep-alive clients share `--requests` requests, in a fixed shuffled order: every stored
query (with its example parameters, in JSON or CSV) and a few /sparql queries (SELECT, ASK, CONSTRUCT,
GET and POST). `--slow N` adds N pathological queries that must be cancelled at the time limit (503),
to see that they do not hurt the others. Reports throughput, p50/p95/p99 latency and every error
(anything but 200, or a 503 for a slow query), and writes bench/results/load-<time>.json.
The goal is zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kg import paths  # noqa: E402
from kg.querylib import library  # noqa: E402
from kg.release import current  # noqa: E402
from tests.conftest import free_port, stop, wait_for_http  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PREFIXES = "PREFIX ekg: <https://w3id.org/evidence-kg/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
TOWER = "https://w3id.org/evidence-kg/id/study/tower"
SPARQL = [
    ("GET", {"query": PREFIXES + "SELECT ?study ?label WHERE { ?study a ekg:Study ; rdfs:label ?label } ORDER BY ?study"}, "json"),
    ("GET", {"query": PREFIXES + "SELECT (COUNT(*) AS ?n) WHERE { ?c a ekg:Cohort }"}, "csv"),
    ("POST", {"query": f"ASK {{ <{TOWER}> a <https://w3id.org/evidence-kg/ontology#Study> }}"}, "json"),
    ("POST", {"query": f"CONSTRUCT {{ <{TOWER}> ?p ?o }} WHERE {{ <{TOWER}> ?p ?o }}"}, "turtle"),
    ("GET", {"query": PREFIXES + "SELECT ?m ?v WHERE { ?m ekg:cohort/ekg:inStudy <" + TOWER + "> ; ?p ?v } LIMIT 200"}, "tsv"),
]
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o . ?a ?b ?c . ?x ?y ?z }"
ACCEPT = {
    "json": "application/sparql-results+json",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
}


@dataclass(frozen=True)
class Request:
    kind: str  # "stored", "sparql" or "slow"
    method: str
    path: str
    params: dict
    accept: str

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.params.get('query', '')[:40]}...)" if self.path == "/sparql" else "")


def workload(n: int, slow: int, seed: int) -> list[Request]:
    stored = [
        Request("stored", "GET", f"/queries/{q.name}", {k: v for k, v in q.example_values().items()}, ACCEPT[fmt])
        for q in library().values()
        for fmt in ("json", "csv")
    ]
    sparql = [Request("sparql", method, "/sparql", params, ACCEPT[fmt]) for method, params, fmt in SPARQL]
    rng = random.Random(seed)
    mix = [rng.choice(stored) if i % 2 else rng.choice(sparql) for i in range(n)]
    for _ in range(slow):
        mix.insert(rng.randrange(len(mix) + 1), Request("slow", "POST", "/sparql", {"query": SLOW}, ACCEPT["json"]))
    return mix


@dataclass
class Outcome:
    request: Request
    status: int | str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == 200 or (self.request.kind == "slow" and self.status == 503)


async def client(base: str, queue: asyncio.Queue, outcomes: list[Outcome]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120, headers={"Accept-Encoding": "identity"}) as http:
        while True:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            try:
                headers = {"Accept": request.accept}
                if request.method == "GET":
                    response = await http.get(request.path, params=request.params, headers=headers)
                else:
                    response = await http.post(request.path, data=request.params, headers=headers)
                await response.aread()
                status: int | str = response.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            outcomes.append(Outcome(request, status, time.perf_counter() - start))


async def run(base: str, requests: list[Request], clients: int) -> tuple[list[Outcome], float]:
    queue: asyncio.Queue = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    outcomes: list[Outcome] = []
    start = time.perf_counter()
    await asyncio.gather(*(client(base, queue, outcomes) for _ in range(clients)))
    return outcomes, time.perf_counter() - start


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=None, help="KG_HOME with a built release (default: $KG_HOME or ./build)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--slow", type=int, default=0, help="pathological queries mixed in (each answered 503 at the time limit)")
    parser.add_argument("--timeout", type=float, default=None, help="KG_QUERY_TIMEOUT for the server (default: its own, 10 s)")
    parser.add_argument("--workers", type=int, default=None, help="KG_QUERY_WORKERS for the server (default: its own)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    home = args.home or paths.home()
    release = current(home)
    env = {**os.environ, "KG_HOME": str(home), "KG_WATCH_SECONDS": "0"}
    if args.timeout is not None:
        env["KG_QUERY_TIMEOUT"] = str(args.timeout)
    if args.workers is not None:
        env["KG_QUERY_WORKERS"] = str(args.workers)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", "--host", "127.0.0.1", "--port", str(port), "--home", str(home)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/health", timeout=60)
        requests = workload(args.requests, args.slow, args.seed)
        asyncio.run(run(base, requests[: args.clients], args.clients))  # warm-up: connections, caches
        outcomes, elapsed = asyncio.run(run(base, requests, args.clients))
    finally:
        stop(server)

    errors = [o for o in outcomes if not o.ok]
    fast = [o.seconds for o in outcomes if o.request.kind != "slow" and o.ok]
    by_kind = {kind: [o.seconds for o in outcomes if o.request.kind == kind and o.ok] for kind in ("stored", "sparql", "slow")}
    report = {
        "release": release.path.name,
        "clients": args.clients,
        "requests": len(outcomes),
        "seconds": round(elapsed, 3),
        "throughput_rps": round(len(outcomes) / elapsed, 1),
        "p50_ms": round(percentile(fast, 50) * 1000, 2),
        "p95_ms": round(percentile(fast, 95) * 1000, 2),
        "p99_ms": round(percentile(fast, 99) * 1000, 2),
        "by_kind": {
            kind: {"n": len(t), "p50_ms": round(percentile(t, 50) * 1000, 2), "p99_ms": round(percentile(t, 99) * 1000, 2)}
            for kind, t in by_kind.items()
            if t
        },
        "statuses": {str(k): v for k, v in Counter(str(o.status) for o in outcomes).items()},
        "errors": len(errors),
        "error_samples": [{"request": e.request.label, "status": e.status} for e in errors[:10]],
        "server": {k: env[k] for k in ("KG_QUERY_TIMEOUT", "KG_QUERY_WORKERS") if k in env},
        "cpus": os.cpu_count(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"load-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"release {release.path.name}: {report['requests']} requests from {args.clients} clients in {report['seconds']} s")
    latency = f"p50 {report['p50_ms']} ms, p95 {report['p95_ms']} ms, p99 {report['p99_ms']} ms"
    print(f"throughput {report['throughput_rps']} req/s; latency {latency}")
    for kind, s in report["by_kind"].items():
        print(f"  {kind:7} n={s['n']:5}  p50 {s['p50_ms']:8.2f} ms  p99 {s['p99_ms']:8.2f} ms")
    print(f"statuses {report['statuses']}; errors: {report['errors']}")
    for sample in report["error_samples"]:
        print(f"  error: {sample['status']} on {sample['request']}")
    print(f"wrote {out}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
