"""One query worker process: opens the release's store read-only and answers tasks until told to stop.

A worker may be killed at any moment (that is how a query's deadline is enforced), so it holds nothing
that needs cleaning up: a read-only store and a pipe to the server.
"""

from __future__ import annotations

import ctypes
import logging
import os
import resource
import signal
from multiprocessing.connection import Connection

from pyoxigraph import Store

from service.checking import QueryChecker
from service.errors import ApiError
from service.execution import Outcome, Refusal, Task, perform

READY = "ready"
LARGE = "large"  # sent before an answer of more than LARGE_BYTES, which the server then reads in a thread
LARGE_BYTES = 64 * 1024  # (a smaller one fits in the pipe's buffer: it is all there when the server reads it)
log = logging.getLogger("service.worker")


def _die_with_the_server() -> None:
    """Linux: be killed when the server dies, even in the middle of a query.

    The worker's parent is the fork server, which exits when the server does, once no child holds the
    fd that keeps it alive (each child inherits one, for starting children of its own: a worker has
    none). PR_SET_PDEATHSIG then delivers SIGKILL when the fork server exits."""
    from multiprocessing import forkserver

    alive = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
    if alive is not None:
        os.close(alive)
        forkserver._forkserver._forkserver_alive_fd = None
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the fork server is already gone
        os._exit(1)


def _limit_memory(megabytes: int) -> None:
    """An address-space cap: a query that needs more fails alone (the worker dies or raises), not the machine."""
    limit = megabytes * 1024 * 1024
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        log.warning("could not limit the query worker's memory to %s MB", megabytes)


def answer(store: Store, checker: QueryChecker, task: Task) -> Outcome | Refusal:
    try:
        return perform(store, checker, task)
    except ApiError as exc:
        return Refusal(exc.status, exc.message)
    except MemoryError:
        return Refusal(503, "the query needed more memory than one query may use")
    except RecursionError:
        return Refusal(400, "the query is nested too deeply")
    except Exception:  # noqa: BLE001 - a bug of ours: logged here, a plain 500 for the client
        log.exception("query failed unexpectedly")
        return Refusal(500, "internal error (logged on the server)")


def main(conn: Connection, store_path: str, allowed_graphs: frozenset[str], memory_mb: int) -> None:
    """The worker's loop (the target of its Process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the server decides
    _die_with_the_server()
    _limit_memory(memory_mb)
    store = Store.read_only(store_path)
    checker = QueryChecker(allowed_graphs, cache_size=1)  # the server caches verdicts; a worker does not need to
    conn.send(READY)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the server went away
        if task is None:
            return
        reply = answer(store, checker, task)
        if isinstance(reply, Outcome) and len(reply.body) > LARGE_BYTES:
            conn.send(LARGE)
        conn.send(reply)
