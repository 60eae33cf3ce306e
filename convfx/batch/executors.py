"""Where the files of a batch run are rendered: in this process, in worker processes, or on Dask.

A run's files become :class:`RenderTask`\\ s, each rendered by :func:`render_task`
(which never raises for a bad file).  :func:`executor_for` picks one of three
executors, each an iterable of ``(index, status, reason)`` results in the order
they finish, with ``running`` (the indices being rendered) and ``close()``:

* serial: one file after the other in this process (``workers=1``);
* a process pool: one task per worker process at a time over its own pipe, so a
  worker that dies fails exactly its file and is replaced, and a worker whose
  parent dies ends too;
* a Dask distributed cluster (``scheduler=``), whose workers see the same paths.

This module must not walk folders, keep the manifest or handle signals
(:mod:`.plan`, :mod:`.manifest`, :mod:`.run`), nor print.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from .. import effects
from ..errors import ConvfxError, FileError
from ..process import keep_freed_memory
from ..render import render_file_in_tiles

__all__ = [
    "SCHEDULER_ENVIRONMENT_VARIABLE",
    "SchedulerError",
    "RenderSettings",
    "RenderTask",
    "render_task",
    "available_cores",
    "check_scheduler_address",
    "Executor",
    "executor_for",
]

#: Where ``convfx batch`` reads a Dask scheduler address when ``--scheduler`` is not given.
SCHEDULER_ENVIRONMENT_VARIABLE = "CONVFX_SCHEDULER"

# What running on a cluster without the [dask] extra says, wherever that is found out.
_NO_DASK = "scheduler: running on a Dask cluster needs dask.distributed: pip install 'convfx[dask]'"

# Seconds a terminated worker gets before it is killed outright.
_TERMINATE_GRACE = 2.0


class SchedulerError(ConvfxError):
    """Dask is not installed, or its scheduler cannot be reached (exit code 2).

    Examples
    --------
    >>> from convfx.batch.executors import check_scheduler_address
    >>> from convfx.batch import SchedulerError
    >>> try:
    ...     check_scheduler_address("not an address")
    ... except SchedulerError as error:
    ...     print(error.exit_code)
    2
    """


# --------------------------------------------------------------------------- one file (runs in workers)


@dataclass(frozen=True)
class RenderSettings:
    """What every file of a run is rendered with (picklable, sent with each task).

    Attributes
    ----------
    effect : Effect
    boundary : str
    output_range : str
    gray : bool
    max_pixels : int
    memory_budget : int
        Bytes, as :func:`convfx.render.render_file` takes them.
    """

    effect: effects.Effect
    boundary: str
    output_range: str
    gray: bool
    max_pixels: int
    memory_budget: int


@dataclass(frozen=True)
class RenderTask:
    """One file to render: its index in the run's jobs, paths, and whether it may replace the output.

    Attributes
    ----------
    index : int
        The file's index in the run's jobs.
    source, destination : Path
    overwrite : bool
    settings : RenderSettings
    """

    index: int
    source: Path
    destination: Path
    overwrite: bool
    settings: RenderSettings


def render_task(task: RenderTask) -> tuple[int, str, str]:
    """Render one file; never raises for a bad file.  Returns ``(index, status, reason)``.

    A plain top-level function of picklable arguments, so that process pools and
    Dask workers can import and call it.  ``status`` is ``"done"`` or ``"failed"``,
    with ``reason`` one line naming the file.

    Parameters
    ----------
    task : RenderTask

    Returns
    -------
    tuple of (int, str, str)
        ``(index, status, reason)``.
    """
    settings = task.settings
    try:
        folder = task.destination.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileError(f"{task.destination}: cannot create the output folder {folder}: {exc.strerror or exc}") from None
        # In one piece when it fits the budget (nearly always): render_in_tiles decides
        # from the decoded pixels, so the header is read once.
        render_file_in_tiles(
            task.source,
            task.destination,
            settings.effect,
            boundary=settings.boundary,
            output_range=settings.output_range,
            gray=settings.gray,
            max_pixels=settings.max_pixels,
            overwrite=task.overwrite,
            memory_budget=settings.memory_budget,
        )
    except ConvfxError as error:
        return task.index, "failed", str(error)
    except MemoryError:
        return task.index, "failed", f"{task.source}: out of memory (lower --memory-budget or --workers)"
    except Exception as error:  # a bug or an unexpected decoder error: report it, keep going
        return task.index, "failed", f"{task.source}: unexpected error: {type(error).__name__}: {error}"
    return task.index, "done", ""


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one).

    Returns
    -------
    int
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --------------------------------------------------------------------------- in this process


class _Serial:
    """Render in this process, one file after the other (``workers=1``)."""

    def __init__(self, tasks: list[RenderTask]) -> None:
        self.tasks = tasks
        self.running: set[int] = set()

    def __iter__(self) -> Iterator[tuple[int, str, str]]:
        for task in self.tasks:
            self.running.add(task.index)
            result = render_task(task)  # Ctrl-C here: imageio removes its own temporary file
            self.running.discard(task.index)
            yield result

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- worker processes


def _worker_main(
    connection: multiprocessing.connection.Connection,
    threads: int | None,
    parent: int | None,
    inherited: tuple[multiprocessing.connection.Connection, ...] = (),
) -> None:
    """Loop of one worker process: receive a task, render it, send the result back.

    ``threads``: OpenCV threads to set here, in a spawned worker; ``None`` in a
    forked one, which inherits the count set around the fork (:func:`_forking`).
    ``parent``: the pid of the process that runs the pool (None when a fork
    server starts the workers, whose parent it is).  ``inherited``: the
    parent's ends of the pipes (this worker's and the earlier ones'), which a
    forked worker holds copies of and closes at once.

    A worker never outlives its parent, even one killed outright (``kill -9``):
    on Linux the kernel sends it SIGTERM when the parent dies; everywhere, its
    pipe then reads end-of-file (no copy of the parent's end is left open) and
    it checks its parent before each file.  Otherwise orphans would go on holding
    the output folder and the terminal (``| tee`` would never end).
    """
    for end in inherited:
        end.close()
    # Ctrl-C goes to the whole process group: only the parent acts on it, and
    # ends the workers.  SIGTERM from the parent ends a worker at once; the parent
    # then removes its temporary file.  Both were blocked since the fork
    # (_signals_blocked), so that neither meets the parent's handlers here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING_SIGNALS)
    _die_with_parent()
    if parent is not None and os.getppid() != parent:  # it died before the line above
        return
    keep_freed_memory()
    if threads is not None:
        import cv2

        cv2.setNumThreads(threads)
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):  # the parent went away
            return
        if task is None or (parent is not None and os.getppid() != parent):
            return
        try:
            connection.send(render_task(task))
        except OSError:  # the parent went away
            return


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_STOPPING_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while a worker starts; it unblocks them once its own handlers are set.

    A worker is born with its parent's handlers: a Ctrl-C to the process group in
    the moment before :func:`_worker_main` ignores it would print a traceback from
    the new process.  Blocked, the signal waits: the parent receives it when it
    unblocks right after starting the worker, the worker never.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (elsewhere: nothing to do here)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@contextlib.contextmanager
def _forking(threads: int) -> Iterator[None]:
    """Prepare this process to be forked into workers that use ``threads`` OpenCV threads.

    cv2.setNumThreads deadlocks in a forked child once the parent has run
    OpenCV's thread pool (tests/test_batch.py), so the count is set here, for the
    children to inherit, and restored after.  Freezing the garbage collector's
    objects keeps the children's collections from touching, and so copying,
    every page they share with the parent.
    """
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        cv2.setNumThreads(previous)


class _Worker:
    """One worker process and the task it is working on."""

    def __init__(self, context: Any, threads: int, others: list[_Worker]) -> None:
        self.connection, child = context.Pipe()
        method = context.get_start_method()
        forked = method == "fork"
        # A forked child holds copies of every descriptor: it closes the parent's pipe
        # ends, or its own pipe would never read end-of-file when the parent dies.
        inherited = (self.connection, *(worker.connection for worker in others)) if forked else ()
        self.process = context.Process(
            target=_worker_main,
            args=(child, None if forked else threads, os.getpid() if method in ("fork", "spawn") else None, inherited),
            name="convfx-batch-worker",
            daemon=True,
        )
        with _forking(threads) if forked else contextlib.nullcontext(), _signals_blocked():
            self.process.start()
        child.close()
        self.task: RenderTask | None = None


def _death_reason(task: RenderTask, exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        how = f"was killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    else:
        how = f"exited with code {exitcode}"
    return f"{task.source}: the worker process {how} while rendering this file"


class _ProcessPool:
    """Render in worker processes, one task per worker at a time.

    Each worker has its own pipe, so the parent always knows which file a worker
    is on: a worker that dies (a decoder crash, the out-of-memory killer) fails
    exactly that file and is replaced.  The workers start in the constructor,
    before the caller starts any thread (a progress bar), because forking a
    process that runs threads is unsafe.  :meth:`close` ends them: politely
    after the last task, at once (SIGTERM, then SIGKILL) otherwise.
    """

    def __init__(self, tasks: list[RenderTask], workers: int) -> None:
        self.context = multiprocessing.get_context()
        self.threads = max(1, available_cores() // workers)
        self.queue = deque(tasks)
        self.running: set[int] = set()
        self.finished = False
        self.pool: list[_Worker] = []
        try:
            for _ in range(min(workers, len(tasks))):
                self.pool.append(_Worker(self.context, self.threads, self.pool))
        except BaseException:
            self.close()
            raise

    def _give(self, worker: _Worker) -> None:
        if self.queue:
            worker.task = self.queue.popleft()
            self.running.add(worker.task.index)
            worker.connection.send(worker.task)

    def __iter__(self) -> Iterator[tuple[int, str, str]]:
        for worker in self.pool:
            self._give(worker)
        while any(worker.task is not None for worker in self.pool):
            busy = [worker for worker in self.pool if worker.task is not None]
            ready = multiprocessing.connection.wait([w.connection for w in busy] + [w.process.sentinel for w in busy])
            for position, worker in enumerate(self.pool):
                task = worker.task
                if task is None or (worker.connection not in ready and worker.process.sentinel not in ready):
                    continue
                result = None
                if worker.connection.poll():
                    with contextlib.suppress(EOFError, OSError):
                        result = worker.connection.recv()
                if result is None:  # it died before answering
                    worker.process.join(_TERMINATE_GRACE)
                    result = (task.index, "failed", _death_reason(task, worker.process.exitcode))
                    worker.connection.close()
                    # Forked while the caller's threads run: safe enough here, as the
                    # child only ever runs _worker_main (no printing, no locks of theirs).
                    others = [other for other in self.pool if other is not worker]
                    worker = self.pool[position] = _Worker(self.context, self.threads, others)
                worker.task = None
                self.running.discard(task.index)
                # The next file first, so the worker is not idle while the caller
                # records this one (manifest, progress bar).
                self._give(worker)
                yield result
        self.finished = True

    def close(self) -> None:
        for worker in self.pool:
            if self.finished:
                with contextlib.suppress(OSError):
                    worker.connection.send(None)
            else:
                worker.process.terminate()
        deadline = time.monotonic() + _TERMINATE_GRACE
        for worker in self.pool:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.connection.close()
        self.pool = []


# --------------------------------------------------------------------------- Dask


def check_scheduler_address(address: str) -> None:
    """Refuse a malformed Dask scheduler address at once.

    ``Client()`` would fail on it, then hang for its whole timeout in its cleanup.

    Parameters
    ----------
    address : str
        As given by ``--scheduler`` or ``CONVFX_SCHEDULER``.

    Raises
    ------
    SchedulerError
        Dask is not installed, or ``address`` is not ``PROTOCOL://host:port`` with
        a protocol that can connect from here (``inproc://`` names its scheduler).
    """
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
        from distributed.comm.registry import backends
    except ImportError:
        raise SchedulerError(_NO_DASK) from None

    try:
        scheme, location = parse_address(address)
        # Protocols that can connect here: the network ones, in-process (a cluster
        # started by this process, as the tests do) and UCX when its package is
        # installed; anything else makes Client() fail, then hang in its cleanup.
        usable = {"tcp", "tls", "ws", "wss", "inproc"} | ({"ucx"} if importlib.util.find_spec("ucp") else set())
        usable &= set(backends)
        if scheme not in usable:
            raise ValueError(f"protocol {scheme!r}; expected one of {sorted(usable)}")
        if scheme == "inproc":
            if not location:
                raise ValueError("an in-process address names its scheduler: inproc://HOST/PID/N")
        else:
            host, port = parse_host_port(location)
            if not host or not 0 < port < 65536:
                raise ValueError(f"expected host:port with a port in 1..65535, found {location!r}")
    except ValueError as exc:
        raise SchedulerError(f"scheduler: {address!r} is not a Dask scheduler address such as tcp://host:8786 ({exc})") from None


class _DaskRun:
    """Render on a Dask cluster; the workers read and write the same paths.

    Tasks already running when the run is interrupted cannot be stopped from
    here: they finish their (atomic) write and stay ``pending`` in the manifest,
    to be redone next time.
    """

    def __init__(self, tasks: list[RenderTask], address: str) -> None:
        try:
            from dask.distributed import Client
        except ImportError:
            raise SchedulerError(_NO_DASK) from None
        try:
            self.client = Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(f"scheduler: cannot connect to the Dask scheduler at {address!r}: {exc}") from None
        self.tasks = tasks
        self.futures: list[Any] = []
        self.running: set[int] = set()  # not used: nothing of a worker's can be cleaned from here

    def __iter__(self) -> Iterator[tuple[int, str, str]]:
        from dask.distributed import as_completed

        self.futures = self.client.map(render_task, self.tasks, pure=False)
        task_of = {future.key: task for future, task in zip(self.futures, self.tasks)}
        for future in as_completed(self.futures, loop=self.client.loop):
            task = task_of[future.key]
            try:
                result = future.result()
            except Exception as error:  # KilledWorker, a lost worker, ...
                result = (task.index, "failed", f"{task.source}: the Dask task failed: {type(error).__name__}: {error}")
            yield result

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.cancel(self.futures)
        self.client.close()


#: What :func:`executor_for` returns: iterate it for ``(index, status, reason)``, then ``close()`` it.
Executor = Union[_Serial, _ProcessPool, _DaskRun]


def executor_for(tasks: list[RenderTask], scheduler: str | None, workers: int | None) -> Executor:
    """The executor of a run: Dask with ``scheduler``, else a process pool, or serial for one worker or one task.

    ``workers=None`` is one per available core.  A process pool starts its
    workers here, before the caller starts any thread.

    Parameters
    ----------
    tasks : list of RenderTask
    scheduler : str or None
        A Dask scheduler's address.
    workers : int or None

    Returns
    -------
    Executor
    """
    if scheduler:
        return _DaskRun(tasks, scheduler)
    workers = workers or available_cores()
    if workers == 1 or len(tasks) <= 1:
        return _Serial(tasks)
    return _ProcessPool(tasks, workers)
