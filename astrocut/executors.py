"""Executors for the command line: a local process pool or a dask cluster."""

import contextlib

from .errors import InvalidInputError


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
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
    else:
        if workers is not None and workers < 1:
            raise InvalidInputError(f"--workers must be at least 1, got {workers}")
        yield None
