"""Shared fixtures: one real build of the review per test session, the `kg` CLI as a subprocess, and a
real Oxigraph server (the `oxigraph` binary from PyPI) loaded with the exported graph."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception as exc:  # noqa: BLE001 - keep polling until it answers
            last = exc
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s: {last}")


@dataclass
class KgResult:
    code: int
    stdout: str
    stderr: str


def run_kg(*args: str, home: Path | None = None, check: bool = False, timeout: float = 300) -> KgResult:
    """Run `python -m kg ...` as a user would, with its own KG_HOME."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    if home is not None:
        env["KG_HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-m", "kg", *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    result = KgResult(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"kg {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return result


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A validated build of the review's curated sources, shared by the whole session (read-only!)."""
    from kg.build import build

    home = tmp_path_factory.mktemp("kg-home")
    build(home=home)
    return home


@pytest.fixture(scope="session")
def embedded(built_home: Path):  # type: ignore[no-untyped-def]
    from kg.engine import EmbeddedEngine

    return EmbeddedEngine.open(built_home)


@dataclass
class OxigraphServer:
    url: str
    process: subprocess.Popen

    @property
    def query_url(self) -> str:
        return self.url + "/query"


def _oxigraph_binary() -> str:
    candidate = Path(sys.executable).parent / "oxigraph"
    found = str(candidate) if candidate.exists() else shutil.which("oxigraph")
    if not found:
        raise RuntimeError("the `oxigraph` server is not installed: `pip install -e .[dev]` installs it")
    return found


def start_oxigraph(location: Path, *, read_only: bool = True, union_default_graph: bool = True) -> OxigraphServer:
    port = free_port()
    command = "serve-read-only" if read_only else "serve"
    union = ["--union-default-graph"] if union_default_graph else []
    proc = subprocess.Popen(
        [_oxigraph_binary(), command, "--location", str(location), "--bind", f"127.0.0.1:{port}", *union],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = OxigraphServer(f"http://127.0.0.1:{port}", proc)
    try:
        wait_for_http(server.url + "/query?query=ASK%7B%7D")
    except Exception:
        proc.kill()
        raise
    return server


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def oxigraph_server(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """A bare Oxigraph server loaded (by `oxigraph load`) with the release's N-Quads dump."""
    from kg.release import current

    location = tmp_path_factory.mktemp("oxigraph-server")
    dump = current(built_home).dump_path
    subprocess.run([_oxigraph_binary(), "load", "--location", str(location), "--file", str(dump)], check=True, capture_output=True)
    server = start_oxigraph(location)
    yield server
    stop(server.process)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextlib.contextmanager
def kg_serve(home: Path, log: Path, endpoint: str | None = None, **env: str) -> Iterator[str]:
    """`kg serve` (a real uvicorn server) on a free loopback port with these KG_* settings (and `--endpoint`); its base URL."""
    port = free_port()
    remote = ["--endpoint", endpoint] if endpoint else []
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kg", "serve", "--port", str(port), "--home", str(home), *remote],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "KG_HOME": str(home), **env},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(url + "/health", timeout=60)
            yield url
        finally:
            stop(proc)


@pytest.fixture(scope="session")
def live_server(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's `kg serve` with default settings, serving the session's build: its base URL."""
    with kg_serve(built_home, tmp_path_factory.mktemp("live-server") / "server.log") as url:
        yield url


@pytest.fixture
def listener() -> Iterator[tuple[int, list]]:
    """A loopback port that records every connection made to it (tests assert there is none)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.1)
    seen: list = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            with contextlib.suppress(OSError):
                seen.append(sock.accept()[0])

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield sock.getsockname()[1], seen
    done.set()
    thread.join()
    sock.close()
