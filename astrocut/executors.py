"""Executors for the command line: a local process pool or a dask cluster.

The local pool's workers never outlive the command, and only the command reports a Ctrl-C:

* each worker ignores SIGINT (a Ctrl-C reaches the whole process group; if the workers
  raised too, the user would see one traceback per worker and the pool would break under
  the main process while it cleans up); SIGTERM stops a worker as below;
* each worker asks the kernel for :data:`STOP_SIGNAL` when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``, Linux) and also polls ``os.getppid()`` from a thread
  (other systems, and parents that are not the pool's creator), so a ``kill -9`` of the
  command stops its workers within about :data:`WATCH_SECONDS`, and they release the
  caller's pipes;
* :data:`STOP_SIGNAL` (or SIGTERM) raises :class:`SystemExit` in the worker, so the task unwinds and
  ``atomic_path`` removes the worker's own ``.part`` file; a worker that has not ended
  :data:`WORKER_GRACE_SECONDS` later (stuck in C code, or waiting for work from a dead parent)
  ends with ``os._exit``;
* when the command ends by an error or an interrupt, the pool sends :data:`STOP_SIGNAL` to
  its workers, waits up to :data:`GRACE_SECONDS` and kills what is left.
"""

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time

from . import runner
from .errors import InvalidInputError

STOP_SIGNAL = signal.SIGUSR1
WATCH_SECONDS = 0.25
GRACE_SECONDS = 1.5
WORKER_GRACE_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def executor_for(workers=None, scheduler=None):
    """Yield an executor for ``workers`` local processes or a dask ``scheduler`` address.

    Yields ``None`` (run in this process) when neither asks for more than one worker.
    """
    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise InvalidInputError("--scheduler needs dask: pip install 'astrocut[dask]'") from None
        try:
            client = Client(scheduler, timeout="20s")
        except Exception as exc:
            raise InvalidInputError(f"cannot reach the dask scheduler {scheduler!r}: {exc}") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
    elif workers is not None and workers > 1:
        with worker_pool(workers) as pool:
            yield pool
    else:
        if workers is not None and workers < 1:
            raise InvalidInputError(f"--workers must be at least 1, got {workers}")
        yield None


class _TrackingContext:
    """A multiprocessing context whose processes are remembered, so the pool's own workers
    (and no other child of this process) can be stopped."""

    def __init__(self, context):
        self._context = context
        self.processes = []
        tracked = self.processes

        class Process(context.Process):
            def start(self):
                # A forked worker runs this process's handlers until its initializer
                # replaces them, so a Ctrl-C in that instant would raise inside it (and
                # print "Process Process-N:"). Meanwhile interrupts are only noted: the
                # runner raises them here after the next task.
                with runner.interrupts_noted():
                    super().start()
                tracked.append(self)

        self.Process = Process

    def __getattr__(self, name):
        return getattr(self._context, name)


def _make_pool_class():
    from concurrent.futures import ProcessPoolExecutor

    class WorkerPool(ProcessPoolExecutor):
        """A process pool whose workers run no further task once told to stop."""

        def submit(self, fn, /, *args, **kwargs):
            return super().submit(_run_unless_stopping, fn, args, kwargs)

    return WorkerPool


def _run_unless_stopping(function, args, kwargs):
    # A stopped worker's current task unwinds, but the pool's loop would start the tasks
    # already queued for it: they end here instead.
    if _stopping:
        os._exit(1)
    try:
        return function(*args, **kwargs)
    finally:
        if _stopping:
            # The task has unwound (its .part file is gone): nothing is left to do here.
            os._exit(1)


@contextlib.contextmanager
def worker_pool(workers):
    """A :class:`~concurrent.futures.ProcessPoolExecutor` whose workers die with this process."""
    _quiet_cancelled_futures_bug()
    context = _TrackingContext(multiprocessing.get_context())
    pool = _make_pool_class()(max_workers=workers, mp_context=context,
                              initializer=_worker_start, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        # Cancel what has not started first: the pool's manager thread then forgets those
        # tasks before any worker ends (CPython 3.11 fails on cancelled tasks of a broken pool).
        pool.shutdown(wait=False, cancel_futures=True)
        stop_processes(context.processes)
        raise
    else:
        pool.shutdown(wait=True)


def _quiet_cancelled_futures_bug():
    """Hide CPython 3.11's manager-thread traceback for cancelled tasks of a broken pool.

    When a worker ends while cancelled tasks are queued, 3.11 calls ``set_exception`` on them
    and its manager thread dies printing ``InvalidStateError: CANCELLED`` (3.12 ignores it,
    as this hook does). Its workers are stopped by :func:`stop_processes` all the same.
    """
    global _previous_hook
    if sys.version_info >= (3, 12) or _previous_hook is not None:
        return
    _previous_hook = threading.excepthook

    def hook(args):
        from concurrent.futures import InvalidStateError

        if not (issubclass(args.exc_type, InvalidStateError)
                and type(args.thread).__name__ == "_ExecutorManagerThread"):
            _previous_hook(args)

    threading.excepthook = hook


_previous_hook = None


def stop_processes(processes, grace=GRACE_SECONDS):
    """Ask ``processes`` to stop (:data:`STOP_SIGNAL`), then kill those still alive after ``grace``."""
    alive = [p for p in processes if p.is_alive()]
    for process in alive:
        with contextlib.suppress(OSError, ValueError):
            os.kill(process.pid, STOP_SIGNAL)
    deadline = time.monotonic() + grace
    for process in alive:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in alive:
        if process.is_alive():
            with contextlib.suppress(OSError, ValueError):
                process.kill()
            process.join(1.0)


def _worker_start(parent_pid):
    """Pool initializer: ignore the group's interrupts, stop when the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM comes from the pool itself (a broken pool terminates its workers) or from a
    # scheduler stopping the whole group: either way the worker stops, cleaning up.
    signal.signal(signal.SIGTERM, _stop_worker)
    signal.signal(STOP_SIGNAL, _stop_worker)
    _ask_for_death_signal()
    if os.getppid() != parent_pid:
        # The parent died before the death signal was armed (or this is not its child).
        parent_pid = os.getppid()
        if parent_pid == 1:
            os._exit(1)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True,
                     name="astrocut-watch-parent").start()


def _ask_for_death_signal():
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(STOP_SIGNAL), 0, 0, 0)


def _watch_parent(parent_pid):
    while os.getppid() == parent_pid:
        time.sleep(WATCH_SECONDS)
    os.kill(os.getpid(), STOP_SIGNAL)


_stopping = False


def _stop_worker(signum, frame):
    global _stopping
    if _stopping:
        return
    _stopping = True
    # The pool's worker loop may go on waiting for work from a parent that is gone.
    timer = threading.Timer(WORKER_GRACE_SECONDS, os._exit, args=(1,))
    timer.daemon = True
    timer.start()
    with contextlib.suppress(OSError, ValueError):
        # Nothing more goes to the caller's terminal or pipes from this worker.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    raise SystemExit(1)
