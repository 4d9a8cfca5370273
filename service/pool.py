"""Query worker processes with a deadline per query: the only way to really stop a running query.

Neither pyoxigraph nor rdflib can cancel a query from Python, so each query runs in a worker process
(service.worker) that has the store open read-only. The server waits for the answer without blocking
its event loop; at the deadline it kills that worker (SIGKILL: the work stops now), answers 503, and
starts a replacement in the background, while the other workers go on serving. A query that crashes
its worker (e.g. over the worker's memory cap) is answered 503 the same way.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from service import worker
from service.errors import ApiError
from service.execution import Outcome, Refusal, Task

log = logging.getLogger("service")
START_TIMEOUT = 60.0  # seconds a new worker may take to open the store


class PoolError(RuntimeError):
    """The workers could not be started (the store would not open?)."""


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection

    def kill(self) -> None:
        """Stop it now and reap it (blocks briefly: call off the event loop)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)
        self.conn.close()


@dataclass(eq=False)
class _ClientSlot:
    turn: asyncio.Semaphore
    users: int = 0  # requests of this client running or waiting


class QueryPool:
    def __init__(
        self, store_path: Path, allowed_graphs: frozenset[str], *, size: int, timeout: float, memory_mb: int, per_client: int | None = None
    ) -> None:
        self.store_path = store_path
        self.allowed_graphs = allowed_graphs
        self.size = size
        self.timeout = timeout
        # Waiting costs the server nothing, so a queued query may wait through a worker's whole deadline and
        # more: a short burst of slow queries then delays the others instead of failing them.
        self.queue_timeout = 2 * timeout
        self.memory_mb = memory_mb
        # forkserver: workers are forked from a small clean process that has imported the worker's
        # modules once, never from this one (threads, sockets, an open store).
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["service.worker"])
        # Last in, first out: the worker that answered last is the one most likely still in the CPU's caches.
        self._idle: asyncio.Queue[_Worker | None] = asyncio.LifoQueue()
        self._replacing: set[asyncio.Task] = set()
        # Queries one client may have running at once, so that it cannot hold every worker.
        self.per_client = per_client or max(1, size // 2)
        self._clients: dict[str, _ClientSlot] = {}
        self.closed = False
        started = [self._launch() for _ in range(size)]  # they open the store in parallel
        try:
            for w in started:
                self._await_ready(w)
                self._idle.put_nowait(w)
        except BaseException:
            for w in started:
                w.kill()
            raise

    # --- starting workers (blocking: at startup, or in a thread) ---

    def _launch(self) -> _Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker.main,
            args=(theirs, str(self.store_path), self.allowed_graphs, self.memory_mb),
            name="kg-query-worker",
            daemon=True,
        )
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def _await_ready(self, w: _Worker) -> None:
        try:
            if w.conn.poll(START_TIMEOUT) and w.conn.recv() == worker.READY:
                return
        except (EOFError, OSError):
            pass
        w.kill()
        raise PoolError(f"a query worker did not start on {self.store_path} (exit code {w.process.exitcode})")

    def _replacement(self, old: _Worker) -> _Worker:
        old.kill()
        new = self._launch()
        self._await_ready(new)
        return new

    async def _replace(self, old: _Worker) -> None:
        for attempt in range(3):
            try:
                new = await run_in_threadpool(self._replacement, old)
            except PoolError:
                log.exception("replacing a query worker (attempt %d)", attempt + 1)
                await asyncio.sleep(1.0)
                continue
            if self.closed:
                await run_in_threadpool(new.kill)
            else:
                self._idle.put_nowait(new)
            return
        log.error("gave up replacing a query worker: %d of %d left", self._idle.qsize(), self.size)

    def _discard(self, w: _Worker) -> None:
        """Kill a worker that ran out of time or broke, and start another in its place (in the background)."""
        if self.closed:
            asyncio.get_running_loop().run_in_executor(None, w.kill)
            return
        task = asyncio.get_running_loop().create_task(self._replace(w))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    @property
    def idle(self) -> int:
        """Workers ready for a query now (the others are busy or being replaced)."""
        return 0 if self.closed else self._idle.qsize()

    # --- running queries ---

    def _unavailable(self, message: str) -> ApiError:
        return ApiError(503, message, {"Retry-After": str(max(1, math.ceil(self.timeout / 2)))})

    async def run(self, task: Task, client: str | None = None) -> Outcome:
        """The worker's answer to `task`; ApiError for a refusal, 503 past the deadline or when all workers stay busy.

        A `client` (None: not counted) runs at most `per_client` queries at once; its others wait their turn,
        and get 429 if that takes longer than the time limit."""
        if client is None:
            return await self._run(task)
        slot = self._clients.setdefault(client, _ClientSlot(asyncio.Semaphore(self.per_client)))
        slot.users += 1
        try:
            try:
                async with asyncio.timeout(self.timeout):  # (wait_for would start a task for each request)
                    await slot.turn.acquire()
            except TimeoutError:
                retry = str(max(1, math.ceil(self.timeout / 2)))
                message = f"{client} keeps {self.per_client} queries running at once; retry later"
                raise ApiError(429, message, {"Retry-After": retry}) from None
            try:
                return await self._run(task)
            finally:
                slot.turn.release()
        finally:
            slot.users -= 1
            if not slot.users:
                del self._clients[client]

    async def _run(self, task: Task) -> Outcome:
        if self.closed:
            raise self._unavailable("the service is switching to a new release; retry")
        try:
            async with asyncio.timeout(self.queue_timeout):
                w = await self._idle.get()
        except TimeoutError:
            raise self._unavailable(f"all {self.size} query workers stayed busy for {self.queue_timeout:g} s; retry later") from None
        if w is None:  # closed while we waited: pass the news on to the next waiter
            self._idle.put_nowait(None)
            raise self._unavailable("the service is switching to a new release; retry")
        try:
            reply = await self._call(w, task)
        except BaseException:
            self._discard(w)
            raise
        if self.closed:
            await run_in_threadpool(w.kill)
        else:
            self._idle.put_nowait(w)
        if isinstance(reply, Refusal):
            raise ApiError(reply.status, reply.message)
        return reply

    async def _call(self, w: _Worker, task: Task) -> Outcome | Refusal:
        # The event loop itself watches the pipe for the answer: no hop through a thread pool and back
        # (~0.1 ms a query, measured). The task is at most a few hundred kB and an idle worker is always
        # reading, so sending it does not wait on the worker.
        try:
            w.conn.send(task)
            async with asyncio.timeout(self.timeout):
                await _readable(w.conn)
            # The worker has finished when its answer starts to arrive: a small one is read at once; a large
            # one (announced) in a thread, as it takes several trips through the pipe's buffer.
            reply = w.conn.recv()
            if isinstance(reply, str) and reply == worker.LARGE:
                reply = await run_in_threadpool(w.conn.recv)
            return reply
        except TimeoutError:
            raise self._unavailable(
                f"query cancelled: it ran longer than the {self.timeout:g} s limit (add LIMIT, narrow the patterns, or use a stored query)"
            ) from None
        except (EOFError, OSError) as exc:
            log.warning("a query worker died (exit code %s, %r) on: %.200s", w.process.exitcode, exc, task.text)
            raise self._unavailable("the query stopped its worker (it may need more memory than one query may use)") from None

    # --- shutting down ---

    async def close(self) -> None:
        """Stop the idle workers now, and the busy ones as soon as their query is answered."""
        self.closed = True
        idle = []
        while not self._idle.empty():
            w = self._idle.get_nowait()
            if w is not None:
                idle.append(w)
        self._idle.put_nowait(None)  # wakes any request still waiting for a worker
        for w in idle:
            await run_in_threadpool(w.kill)


async def _readable(conn: Connection) -> None:
    """Until `conn` has something to read: an answer, or end-of-file when its worker died."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    fd = conn.fileno()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(fd)
        os.set_blocking(fd, True)  # uvloop made it non-blocking; Connection's reads and writes need it blocking
