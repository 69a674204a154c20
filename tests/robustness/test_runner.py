"""astrocut.runner, the one loop for bulk chunks and cube bands, on real executors."""

import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from astrocut import runner
from astrocut.errors import InvalidInputError, WorkerError


def square(x):
    return x * x


def slow_square(x):
    time.sleep(0.01 * (x % 3))
    return x * x


def die(code):
    os._exit(code)


class Boom(ValueError):
    pass


def test_inline_and_on_executors_give_the_same_results_in_task_order():
    tasks = [(slow_square, (x,)) for x in range(40)]
    expected = [x * x for x in range(40)]
    assert runner.run(tasks) == expected
    with ThreadPoolExecutor(4) as pool:
        assert runner.run(tasks, pool) == expected
        seen = []
        assert runner.run(tasks, pool, ordered=False,
                          on_result=lambda i, r: seen.append((i, r))) == expected
        assert sorted(seen) == list(enumerate(expected))
    with ProcessPoolExecutor(2) as pool:
        order = []
        assert runner.run(tasks, pool, on_result=lambda i, r: order.append(i)) == expected
        assert order == list(range(40))  # ordered=True delivers in task order


class Counting(Executor):
    """An executor with only ``submit`` (no private attributes), counting tasks in flight."""

    def __init__(self):
        self.pool = ThreadPoolExecutor(4)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0

    def submit(self, fn, *args):
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        future = self.pool.submit(fn, *args)
        future.add_done_callback(self._done)
        return future

    def _done(self, future):
        with self.lock:
            self.in_flight -= 1


def test_tasks_in_flight_are_bounded_and_consumed_lazily():
    executor = Counting()
    made = []

    def tasks():
        for x in range(200):
            made.append(x)
            yield slow_square, (x,)

    assert runner.run(tasks(), executor, max_in_flight=5) == [x * x for x in range(200)]
    assert executor.most <= 5
    assert made == list(range(200))
    executor.pool.shutdown()


def test_an_error_cancels_what_has_not_started_and_is_raised_as_it_is():
    started = []

    def task(x):
        started.append(x)
        if x == 3:
            raise Boom("task 3 failed")
        time.sleep(0.05)
        return x

    with ThreadPoolExecutor(2) as pool:
        with pytest.raises(Boom, match="task 3"):
            runner.run(((task, (x,)) for x in range(100)), pool, max_in_flight=4)
        # Nothing queued after the error ran; running tasks were waited for.
        assert len(started) < 10


def test_a_dead_worker_is_one_error_type():
    with ProcessPoolExecutor(2) as pool:
        with pytest.raises(WorkerError, match="worker process died"):
            runner.run([(square, (1,)), (die, (9,)), (square, (2,))], pool)
    with pytest.raises(WorkerError, match="refused a task"):
        runner.run([(square, (1,))], pool)  # shut down


def test_an_executor_without_submit_is_refused():
    with pytest.raises(InvalidInputError, match="executor"):
        runner.run([(square, (1,))], object())
    with pytest.raises(InvalidInputError, match="max_in_flight"):
        runner.run([(square, (1,))], ThreadPoolExecutor(1), max_in_flight=0)


def test_bulk_runs_on_an_executor_without_max_workers(cube, sector, tmp_path):
    """A dask-like executor (submit only, no _max_workers) cuts the same TPFs as a serial run."""
    from astrocut import cube_cut_many

    executor = Counting()
    star = f"{sector.variable_star.ra} {sector.variable_star.dec}"
    targets = [star] * 3 + ["0 0"]
    serial = cube_cut_many(cube.path, targets, cutout_size=3, output_path=str(tmp_path / "a"),
                           verbose=False)
    pooled = cube_cut_many(cube.path, targets, cutout_size=3, output_path=str(tmp_path / "b"),
                           executor=executor, verbose=False)
    executor.pool.shutdown()
    assert list(serial["status"]) == list(pooled["status"]) == ["ok"] * 3 + ["error"]
    assert pooled.meta["aborted"] is None
    for a, b in zip(serial["path"][:3], pooled["path"][:3]):
        assert os.path.basename(a) == os.path.basename(b)
        with open(a, "rb") as fa, open(b, "rb") as fb:
            assert fa.read() == fb.read()
