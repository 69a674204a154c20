"""One way to run a batch of tasks: in this process or on any ``concurrent.futures`` executor.

Bulk cutouts (chunks of targets) and cube builders (row bands) both run here, so they submit,
bound, collect and cancel the same way:

* a task is ``(function, args)``; on a process pool or a dask executor both must pickle;
* at most ``max_in_flight`` tasks are submitted and not yet collected, so a batch of a
  million tasks does not hold a million pickled argument sets in the executor's queue;
* results come back in task order (``ordered=True``) or as they complete, through
  ``on_result(index, result)`` as well as in the returned list;
* on the first error, tasks not yet started are cancelled and running ones are waited for
  (they may be writing into a file that the caller is about to remove); on Ctrl-C or SIGTERM
  they are cancelled and the interrupt goes on at once (the owner of the executor stops its
  workers: :func:`astrocut.executors.executor_for` does);
* the executor breaking (a worker killed by the OOM killer, a pool shut down under us) is
  always :class:`~astrocut.errors.WorkerError`; an error raised by a task is re-raised as it
  is, so the package's own errors reach the caller unchanged.
"""

import contextlib
import threading
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, CancelledError, wait

from .errors import InvalidInputError, WorkerError

#: Submitted-but-uncollected tasks by default: enough to keep a few dozen workers busy.
DEFAULT_IN_FLIGHT = 64
# How often a batch waiting on an executor looks for a noted interrupt.
POLL_SECONDS = 0.1

# Signals the command line has turned into interrupts. Python runs a signal handler between
# bytecodes, and an exception it raises inside a destructor (astropy's FITS_rec.__del__ runs
# often) is printed and dropped; so the handler also notes the signal here and the batch
# raises it again after the next task, instead of running to its end.
_noted_signals = []


def note_signal(signal_number):
    """Remember that ``signal_number`` asked this process to stop (see :func:`stop_if_signalled`)."""
    _noted_signals.append(signal_number)


def clear_signals():
    _noted_signals.clear()


def stop_if_signalled():
    """Raise the interrupt of a noted signal that was not raised (or was swallowed) yet."""
    if _noted_signals:
        import signal

        from .errors import Interrupted

        number = _noted_signals[-1]
        clear_signals()
        raise KeyboardInterrupt() if number == signal.SIGINT else Interrupted(number)


@contextlib.contextmanager
def interrupts_noted():
    """Within the block, SIGINT/SIGTERM handlers that would raise only note the signal.

    For code that holds locks another thread needs: ``concurrent.futures.wait`` acquires
    every future's lock in turn, and an executor's ``submit`` holds the pool's; an interrupt
    raised in between would leave a lock held, and the pool thread that next needs it (to
    finish a future, or to shut down) would wait for ever. The block calls
    :func:`stop_if_signalled` where it is safe. Handlers that do not raise (the default
    SIGTERM, an ignored signal) are left alone, and outside the main thread nothing changes.
    """
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(signum, frame):
        note_signal(signum)

    previous = {}
    try:
        for number in (signal.SIGINT, signal.SIGTERM):
            if callable(signal.getsignal(number)):
                previous[number] = signal.signal(number, note)
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def check_executor(executor, parameter="executor"):
    """Return ``executor`` if it can take tasks (``None`` means this process), else raise."""
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise InvalidInputError(f"{parameter} must be a concurrent.futures.Executor (an object "
                                f"with submit()) or None, not {type(executor).__name__}")
    return executor


def run(tasks, executor=None, max_in_flight=None, ordered=True, on_result=None):
    """Run ``tasks`` (an iterable of ``(function, args)``); return their results in task order.

    Parameters
    ----------
    tasks : iterable of (callable, tuple)
        Consumed lazily: only ``max_in_flight`` argument sets exist at a time.
    executor : `concurrent.futures.Executor`, optional
        Where to run them; ``None`` runs them here, one after another.
    max_in_flight : int, optional
        Bound on submitted tasks not yet collected (default :data:`DEFAULT_IN_FLIGHT`).
    ordered : bool
        Call ``on_result`` in task order (default) or as tasks complete.
    on_result : callable, optional
        ``on_result(index, result)`` after each task, in this process.

    Raises
    ------
    WorkerError
        The executor failed the task without running it to its end.
    Exception
        Whatever a task raised.
    """
    check_executor(executor)
    results = {}

    def deliver(index, result):
        stop_if_signalled()  # an interrupt noted while waiting stops before more output
        results[index] = result
        if on_result is not None:
            on_result(index, result)
        stop_if_signalled()

    if executor is None:
        for index, (function, args) in enumerate(tasks):
            deliver(index, function(*args))
    else:
        with interrupts_noted():
            _run_on(executor, enumerate(tasks), _bound(max_in_flight), ordered, deliver)
    return [results[index] for index in range(len(results))]


def _bound(max_in_flight):
    if max_in_flight is None:
        return DEFAULT_IN_FLIGHT
    if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1:
        raise InvalidInputError(f"max_in_flight must be a whole number >= 1, not {max_in_flight!r}")
    return max_in_flight


def _run_on(executor, numbered, limit, ordered, deliver):
    running = {}  # future -> task index
    finished = {}  # index -> result, waiting for its turn when ordered
    next_to_deliver = 0
    exhausted = False
    try:
        while True:
            while not exhausted and len(running) + len(finished) < limit:
                try:
                    index, (function, args) = next(numbered)
                except StopIteration:
                    exhausted = True
                    break
                running[_submit(executor, function, args)] = index
            if not running:
                break
            done, _ = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            if not done:
                stop_if_signalled()
            for future in sorted(done, key=running.get):
                index = running.pop(future)
                result = _result(future)
                if ordered:
                    finished[index] = result
                else:
                    deliver(index, result)
            while ordered and next_to_deliver in finished:
                deliver(next_to_deliver, finished.pop(next_to_deliver))
                next_to_deliver += 1
    except Exception:
        _cancel(running, wait_for_running=True)
        raise
    except BaseException:
        _cancel(running, wait_for_running=False)
        raise


def _submit(executor, function, args):
    try:
        return executor.submit(function, *args)
    except (BrokenExecutor, RuntimeError) as exc:
        # RuntimeError: "cannot schedule new futures after shutdown" (and dask's "closed").
        raise WorkerError(f"the executor refused a task ({type(exc).__name__}: {exc}); the batch "
                          f"is incomplete") from None


def _result(future):
    try:
        return future.result()
    except BrokenExecutor:
        # A signal sent to the whole process group stops the workers too; the pool breaking
        # is then its echo, and the interrupt is what the caller must see.
        stop_if_signalled()
        raise WorkerError("a worker process died before finishing its task (killed, perhaps "
                          "by the out-of-memory killer); the batch is incomplete") from None
    except CancelledError:
        raise WorkerError("a task was cancelled outside astrocut (the executor was shut down?); "
                          "the batch is incomplete") from None


def _cancel(running, wait_for_running):
    for future in running:
        future.cancel()
    if wait_for_running:
        wait(running)

