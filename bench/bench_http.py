"""HTTP latency and throughput: our service (`kg serve`) next to a bare Oxigraph server, same data, same queries.

    python bench/bench_http.py [--home KG_HOME] [--requests 300] [--rounds 3] [--concurrency 8]

Both servers run on loopback ports, loaded from the same release (Oxigraph via `oxigraph load` of the
N-Quads dump, `serve-read-only --union-default-graph`). Each case sends the same query text to both;
the stored query goes to `/queries/NAME` on ours. Responses are compared byte for byte first. Latency
requests alternate between the two servers (one keep-alive client each) so that both see the same
machine load, in `--rounds` passes: a p50 is the median of the passes' p50s, and the spread of the
passes' p50 ratios shows how much the machine's load moved them. Throughput is then measured per server
with concurrent clients. Ours runs without uvicorn's access log unless `--access-log`, as the bare
server logs no requests either (`kg serve` logs them by default: ~0.1 ms a request). Bounded: a fixed number of requests per
case, then both servers are stopped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kg import paths  # noqa: E402
from kg.querylib import get  # noqa: E402
from kg.release import current  # noqa: E402
from tests.conftest import _oxigraph_binary, free_port, start_oxigraph, stop, wait_for_http  # noqa: E402

SELECT = """PREFIX ekg: <https://w3id.org/evidence-kg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?study ?label WHERE { ?study a ekg:Study ; rdfs:label ?label } ORDER BY ?study"""
# identity: compressing is our GZipMiddleware's job only when asked; the bare server does not gzip.
HEADERS = {"Accept-Encoding": "identity"}


@dataclass
class Case:
    name: str
    ours: tuple[str, dict, dict]  # path, params, headers
    bare: tuple[str, dict, dict]


@dataclass
class Stats:
    p50: float
    p99: float
    throughput: float = 0.0


def latencies(servers: list[tuple[str, tuple[str, dict, dict]]], n: int, warmup: int) -> tuple[list[list[float]], list[bytes]]:
    """Sequential requests, alternating between the servers, so that both see the same machine load."""
    clients = [httpx.Client(base_url=base, headers=HEADERS, timeout=60) for base, _ in servers]
    try:
        bodies = []
        for client, (_, (path, params, headers)) in zip(clients, servers, strict=True):
            first = client.get(path, params=params, headers=headers)
            first.raise_for_status()
            bodies.append(first.content)
            for _ in range(warmup):
                client.get(path, params=params, headers=headers)
        times: list[list[float]] = [[] for _ in servers]
        for _ in range(n):
            for i, (client, (_, (path, params, headers))) in enumerate(zip(clients, servers, strict=True)):
                t0 = time.perf_counter()
                r = client.get(path, params=params, headers=headers)
                times[i].append(time.perf_counter() - t0)
                r.raise_for_status()
        return times, bodies
    finally:
        for client in clients:
            client.close()


def throughput(base: str, request: tuple[str, dict, dict], n: int, concurrency: int) -> float:
    path, params, headers = request

    def worker(count: int) -> None:
        with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as c:
            for _ in range(count):
                c.get(path, params=params, headers=headers).raise_for_status()

    per = max(1, n // concurrency)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, [per] * concurrency))
    return per * concurrency / (time.perf_counter() - t0)


def stats(times: list[float]) -> Stats:
    q = statistics.quantiles(times, n=100, method="inclusive")
    return Stats(p50=statistics.median(times) * 1000, p99=q[98] * 1000)


def combined(rounds: list[Stats], rate: float) -> Stats:
    """The median of several passes' p50s and p99s (one pass can be skewed by the machine's other load)."""
    return Stats(statistics.median(r.p50 for r in rounds), statistics.median(r.p99 for r in rounds), rate)


def start_service(home: Path, access_log: bool = False) -> tuple[str, subprocess.Popen]:
    port = free_port()
    log = "--access-log" if access_log else "--no-access-log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", "--port", str(port), "--home", str(home), log],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "KG_HOME": str(home)},
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/health", timeout=60)
    return url, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=None, help="KG_HOME with a built release (default: $KG_HOME or ./build)")
    parser.add_argument("--requests", type=int, default=300, help="requests per case and server (latency pass; same again for throughput)")
    parser.add_argument("--rounds", type=int, default=3, help="latency passes per case (p50 = median of the passes)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads in the throughput run")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--access-log", action="store_true", help="run ours with uvicorn's access log (as `kg serve` does by default)")
    parser.add_argument("--stored-query", default="outcomes")
    args = parser.parse_args()
    home = args.home or paths.home()
    release = current(home)
    stored = get(args.stored_query)

    cases = [
        Case(
            f"stored query {stored.name} (CSV)",
            (f"/queries/{stored.name}", {"format": "csv"}, {}),
            ("/query", {"query": stored.bind({})}, {"Accept": "text/csv"}),
        ),
        Case(
            "/sparql SELECT studies (JSON)",
            ("/sparql", {"query": SELECT}, {"Accept": "application/sparql-results+json"}),
            ("/query", {"query": SELECT}, {"Accept": "application/sparql-results+json"}),
        ),
    ]

    with tempfile.TemporaryDirectory(prefix="bench-oxigraph-") as tmp:
        subprocess.run([_oxigraph_binary(), "load", "--location", tmp, "--file", str(release.dump_path)], check=True, capture_output=True)
        bare = start_oxigraph(Path(tmp))
        ours_url, ours = start_service(home, args.access_log)
        try:
            print(
                f"release {release.path.name}; {args.rounds} x {args.requests} requests per case and server, "
                f"throughput with {args.concurrency} clients; ours {'with' if args.access_log else 'without'} access log"
            )
            print(f"{'case':38} {'server':8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
            for case in cases:
                ours_rounds, bare_rounds, same = [], [], True
                for _ in range(args.rounds):
                    (ours_times, bare_times), (ours_body, bare_body) = latencies(
                        [(ours_url, case.ours), (bare.url, case.bare)], args.requests, args.warmup
                    )
                    ours_rounds.append(stats(ours_times))
                    bare_rounds.append(stats(bare_times))
                    same = same and ours_body == bare_body
                ours_stats = combined(ours_rounds, throughput(ours_url, case.ours, args.requests, args.concurrency))
                bare_stats = combined(bare_rounds, throughput(bare.url, case.bare, args.requests, args.concurrency))
                for label, s in (("ours", ours_stats), ("oxigraph", bare_stats)):
                    print(f"{case.name:38} {label:8} {s.p50:8.2f} {s.p99:8.2f} {s.throughput:8.0f}")
                ratios = [o.p50 / b.p50 for o, b in zip(ours_rounds, bare_rounds, strict=True)]
                print(
                    f"{'':38} {'ratio':8} {ours_stats.p50 / bare_stats.p50:7.2f}x {ours_stats.p99 / bare_stats.p99:7.2f}x "
                    f"{ours_stats.throughput / bare_stats.throughput:7.2f}x  (passes' p50 ratios {min(ratios):.2f}-{max(ratios):.2f}; "
                    f"responses {'identical' if same else 'DIFFERENT'}; goal p50 <= 1.5x)"
                )
        finally:
            stop(ours)
            stop(bare.process)


if __name__ == "__main__":
    main()
