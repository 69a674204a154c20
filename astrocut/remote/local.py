"""Ranged reads of a local file with ``os.preadv``: no seek, so threads may share a reader."""

import os

from astrocut.errors import InvalidInputError


class LocalReader:
    """A local file opened for ranged reads (see :func:`astrocut.remote.open_ranged`)."""

    etag = None
    identity = None  # local files are not cached (see cache.memo)
    is_remote = False

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            self._file = open(self.path, "rb", buffering=0)
        except OSError as exc:
            raise InvalidInputError(f"cannot open {self.path!r}: {exc.strerror}") from None
        self.size = os.fstat(self._file.fileno()).st_size
        self.bytes_read = 0
        self.requests = 0

    def fileno(self):
        return self._file.fileno()

    def readinto(self, view, offset):
        """Fill ``view`` from ``offset``; a file that ends early is InvalidInputError."""
        read_exact(self._file.fileno(), view, offset, self.path)
        self.bytes_read += len(view)
        self.requests += 1

    def read_ranges(self, ranges):
        out = []
        for offset, length in ranges:
            offset, length = int(offset), int(length)
            if length <= 0:
                out.append(b"")
                continue
            buffer = bytearray(length)
            self.readinto(memoryview(buffer), offset)
            out.append(bytes(buffer))
        return out

    def submit_ranges(self, ranges):
        """``read_ranges`` done now, as a finished future (local reads do not wait)."""
        from concurrent.futures import Future

        future = Future()
        try:
            future.set_result(self.read_ranges(ranges))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def read_exact(fd, view, offset, path):
    """Fill ``view`` from ``fd`` at ``offset`` (``os.preadv``: no seek, threads may share
    ``fd``); a file that ends early is InvalidInputError naming ``path``."""
    done, total = 0, len(view)
    while done < total:
        if hasattr(os, "preadv"):
            count = os.preadv(fd, [view[done:]], offset + done)
        else:  # pragma: no cover - platforms without preadv
            chunk = os.pread(fd, total - done, offset + done)
            count = len(chunk)
            view[done:done + count] = chunk
        if count <= 0:
            raise InvalidInputError(f"{path!r} is truncated: it ends at byte "
                                    f"{offset + done}, before the {total} bytes asked for")
        done += count
