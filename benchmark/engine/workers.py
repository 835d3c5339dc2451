"""Calls spread over worker processes, one per core, each with its own event loop and LiteLLM.

One event loop saturates before the endpoints do: LiteLLM spends several milliseconds of CPU on
every call, and at high concurrency the answers of a burst queue behind each other
(perf/throughput.py). A ``CallPool`` forks ``size`` workers once the run is planned; the parent
keeps everything else (the plan, the store as its single writer, scoring, progress) and hands each
call to the least busy worker over a pipe. A worker only ever calls ``benchmark.clients.calls.call`` and
sends the ``Outcome`` back, so an answer is never written twice and never by two processes.

- Keys are never sent: a worker reads them from the environment it inherits, as the parent would.
- A worker ignores Ctrl-C (the parent decides) and exits when its pipe closes, so a parent that
  dies, even by ``kill -9``, leaves no worker calling a paid endpoint.
- A worker that dies turns its calls in flight into errors naming it (retried by the next run like
  any failed call); the others take its share, and with none left the run calls from its own loop.
- Workers are forked (Linux and other POSIX systems with ``fork``): they start in milliseconds with
  LiteLLM already imported. Where ``fork`` is missing, ``available()`` is False and a run calls
  from its own loop.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

from benchmark.clients.calls import MAX_ANSWER_CHARS, Outcome, call
from benchmark.clients.library import ensure_litellm
from benchmark.clients.models import ModelTarget
from benchmark.clients.requests import Request

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

JOIN_TIMEOUT_S = 5.0  # a worker asked to stop gets this long before it is terminated


class CallOptions(TypedDict):
    """The keyword arguments of ``call`` that a pool passes on with every request."""

    timeout: float
    max_attempts: int
    max_chars: int


def available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


CALLS_PER_WORKER = 32  # calls in flight one worker's loop keeps near the endpoint's pace (perf/throughput.py)


def cores() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def auto_size(in_flight: int) -> int:
    """Workers for ``in_flight`` calls at once: none (1, the run's own loop) below CALLS_PER_WORKER;
    else one per CALLS_PER_WORKER calls, at least one per core and at most two per core.

    Measured with perf/throughput.py on 2 cores at L = 0.5 s: at C = 32, 1 loop reached 0.83 of
    C/L and 2 workers 0.90; at C = 128, 2 workers 0.78 and 4 workers 0.84 (the waves of answers
    queue behind LiteLLM's few milliseconds of CPU per call, so more loops wait less)."""
    if in_flight < CALLS_PER_WORKER:
        return 1
    n = cores()
    return min(2 * n, max(n, -(-in_flight // CALLS_PER_WORKER)))


# ---------------------------------------------------------------- the worker's side


def _serve(conn: Connection, inherited: list[Connection]) -> None:
    """A worker's whole life: answer calls from ``conn`` until it closes."""
    for other in inherited:  # the parent's ends of every pipe: only the parent may hold them,
        other.close()  # or a dead parent's pipes would never read as closed here
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        signal.set_wakeup_fd(-1)  # the parent's loop had one; it is not ours
    except ValueError:
        pass
    litellm = ensure_litellm()
    litellm.in_memory_llm_clients_cache.flush_cache()  # clients of the parent's loop are useless here
    from benchmark.clients import routing

    routing.forget_routers()
    asyncio.run(_answer(conn))


async def _answer(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    tasks: set[asyncio.Task] = set()

    async def one(seq: int, target: ModelTarget, request: Request, options: CallOptions) -> None:
        outcome = await call(target, request, **options)
        try:
            conn.send((seq, outcome))
        except OSError:  # the parent is gone: nobody is left to keep the answer
            closed.set()

    def readable() -> None:
        try:
            while conn.poll():
                message = conn.recv()
                if message is None:
                    closed.set()
                    return
                task = loop.create_task(one(*message))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except (EOFError, OSError):
            closed.set()

    loop.add_reader(conn.fileno(), readable)
    await closed.wait()
    loop.remove_reader(conn.fileno())
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# ---------------------------------------------------------------- the parent's side


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    in_flight: dict[int, asyncio.Future[Outcome]] = field(default_factory=dict)


class CallPool:
    """``size`` forked workers answering ``call(target, request)``; use as ``async with``."""

    def __init__(self, size: int, *, timeout: float, max_attempts: int, max_chars: int = MAX_ANSWER_CHARS):
        self.size = max(1, size)
        self.options: CallOptions = {"timeout": timeout, "max_attempts": max_attempts, "max_chars": max_chars}
        self.workers: list[_Worker] = []
        self._seq = itertools.count()

    async def __aenter__(self) -> CallPool:
        self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def start(self) -> None:
        ensure_litellm()  # imported once, before the fork, so no worker imports it again
        context = multiprocessing.get_context("fork")
        loop = asyncio.get_running_loop()
        ours: list[Connection] = []
        try:
            for n in range(self.size):
                mine, theirs = context.Pipe(duplex=True)
                ours.append(mine)
                process = context.Process(
                    target=_serve, args=(theirs, list(ours)), name=f"gvs-calls-{n + 1}", daemon=True
                )
                try:
                    process.start()
                finally:
                    theirs.close()
                worker = _Worker(process, mine)
                self.workers.append(worker)
                loop.add_reader(mine.fileno(), self._readable, worker)
        except OSError:  # no more processes or files allowed (ulimit, memory): stop those started
            self._stop()
            for conn in ours:
                conn.close()
            raise

    async def call(self, target: ModelTarget, request: Request) -> Outcome:
        live = [w for w in self.workers if not w.conn.closed]
        if not live:  # every worker died: the run goes on from its own loop
            return await call(target, request, **self.options)
        worker = min(live, key=lambda w: len(w.in_flight))
        seq = next(self._seq)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        if worker.process.exitcode is not None or worker.conn.closed:
            return self._lost(worker)
        worker.in_flight[seq] = future
        try:
            worker.conn.send((seq, target, request, self.options))
        except OSError:
            worker.in_flight.pop(seq, None)
            return self._lost(worker)
        try:
            return await future
        finally:
            worker.in_flight.pop(seq, None)

    def _lost(self, worker: _Worker) -> Outcome:
        code = worker.process.exitcode
        how = f"exit code {code}" if code is not None else "its pipe closed"
        return Outcome(
            error=f"WorkerLost: gvs call worker {worker.process.name} stopped ({how}); the call is retried on the next run"
        )

    def _readable(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                seq, outcome = worker.conn.recv()
                future = worker.in_flight.pop(seq, None)
                if future is not None and not future.done():
                    future.set_result(outcome)
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(worker.conn.fileno())
            worker.process.join(0.5)
            for future in worker.in_flight.values():
                if not future.done():
                    future.set_result(self._lost(worker))
            worker.in_flight.clear()
            worker.conn.close()

    async def close(self) -> None:
        self._stop()

    def _stop(self) -> None:
        loop = asyncio.get_running_loop()
        for worker in self.workers:
            if not worker.conn.closed:
                loop.remove_reader(worker.conn.fileno())
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
                worker.conn.close()
        for worker in self.workers:  # they stop at once: each cancels what it has in flight and returns
            worker.process.join(JOIN_TIMEOUT_S)
            if worker.process.exitcode is None:
                worker.process.terminate()
                worker.process.join(JOIN_TIMEOUT_S)
