"""Shared pieces of the benchmarks: memory sampling, running the reference tool, tables.

The reference tool (``astrocut`` from PyPI) has the same import name as this project, so it
lives in its own virtual environment and is driven through that environment's python
(``--reference-python PATH``). Every benchmark prints one table from one run, with each
measurement beside its baseline, never a timing assertion.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time


def _children(pid):
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:
        pass
    return found


def _process_tree(pid):
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(_children(current))
    return pids


def _status_bytes(pid, field):
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class MemorySampler:
    """Sample the summed RssAnon and VmRSS of a process and all its descendants.

    RssAnon is what a build really holds; VmRSS also counts memory-mapped file pages, which
    the kernel can drop at will. Use as a context manager; read ``peak_anon_bytes`` after.
    """

    def __init__(self, pid=None, interval=0.01):
        self.pid = pid or os.getpid()
        self.interval = interval
        self.peak_anon_bytes = 0
        self.peak_rss_bytes = 0
        self._stop = threading.Event()
        self._thread = None

    def sample(self):
        pids = _process_tree(self.pid)
        anon = sum(_status_bytes(pid, "RssAnon") for pid in pids)
        rss = sum(_status_bytes(pid, "VmRSS") for pid in pids)
        self.peak_anon_bytes = max(self.peak_anon_bytes, anon)
        self.peak_rss_bytes = max(self.peak_rss_bytes, rss)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()
        return False


def measure(function, *args, **kwargs):
    """Call ``function``; return ``(result, seconds, peak RssAnon bytes above the start)``."""
    baseline = MemorySampler()
    baseline.sample()
    with MemorySampler() as sampler:
        started = time.perf_counter()
        result = function(*args, **kwargs)
        seconds = time.perf_counter() - started
    return result, seconds, max(sampler.peak_anon_bytes - baseline.peak_anon_bytes, 0)


def run_python(python, script, payload=None, env=None, sample_memory=True):
    """Run ``script`` with ``python`` in a fresh process and measure it from outside.

    ``payload`` (JSON-serialisable) reaches the script as ``PAYLOAD`` (a dict); the script may
    print one JSON object as its last line of output, returned under ``"result"``. Returns a
    dict with ``seconds`` (wall time of the whole process), ``peak_anon_bytes`` and ``result``.
    """
    prologue = "import json, sys\nPAYLOAD = json.loads(sys.argv[1])\n"
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(prologue + script)
        path = handle.name
    try:
        started = time.perf_counter()
        process = subprocess.Popen([python, path, json.dumps(payload or {})],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, **(env or {})})
        sampler = MemorySampler(process.pid) if sample_memory else None
        if sampler:
            sampler.__enter__()
        out, err = process.communicate()
        seconds = time.perf_counter() - started
        if sampler:
            sampler.__exit__(None, None, None)
    finally:
        os.unlink(path)
    if process.returncode != 0:
        raise RuntimeError(f"{python} failed ({process.returncode}):\n{err[-3000:]}")
    lines = [line for line in out.splitlines() if line.strip()]
    result = None
    if lines:
        try:
            result = json.loads(lines[-1])
        except ValueError:
            result = None
    return {"seconds": seconds, "peak_anon_bytes": sampler.peak_anon_bytes if sampler else 0,
            "result": result, "stdout": out}


def run_reference(python, script, payload=None):
    """:func:`run_python` in the reference tool's venv (its ``astrocut`` shadows ours there)."""
    return run_python(python, script, payload, env={"PYTHONPATH": ""})


def run_ours(script, payload=None):
    """:func:`run_python` with this project's interpreter, for a fair cold-process comparison."""
    return run_python(sys.executable, script, payload)


def add_common_arguments(parser):
    """``--reference-python`` and ``--workdir``, shared by every benchmark."""
    parser.add_argument("--reference-python", default=os.environ.get("ASTROCUT_REFERENCE_PYTHON"),
                        help="python of a venv with the reference astrocut from PyPI")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "astrocut-bench"),
                        help="where simulated data and outputs go (reused between runs)")
    return parser


def new_parser(description):
    """An argument parser with the common arguments."""
    return add_common_arguments(argparse.ArgumentParser(description=description))


def gigabytes(value):
    return value / 1024 ** 3


def print_table(rows, headers):
    """Print ``rows`` (lists of cells) under ``headers`` as an aligned Markdown table."""
    cells = [[str(h) for h in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    line = lambda row: "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"  # noqa: E731
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))


def _cell(value):
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return "" if value is None else str(value)
