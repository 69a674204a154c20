"""Serialising writers of one output file: an advisory lock beside it, and file identity.

A writer that replaces a file by renaming a new one over it (``output.atomic_path``) cannot
lock the file itself: the next writer would lock the new inode while the first still holds
the old one. So the lock lives in a lock file beside the target, ``.<name>.lock``, taken with
``fcntl.flock`` (advisory: only writers that ask are serialised; readers never ask, and a
rename never disturbs what a reader has open). The kernel drops a ``flock`` when its holder
dies, so a killed writer leaves no stale lock (only, after ``kill -9``, an unlocked lock
file, which the next writer reuses). A finishing writer removes the lock file while it still
holds it; a writer that was waiting on the removed file notices (its inode is no longer the
one the name gives) and locks the current one, so two writers never hold two lock files.

:class:`FileIdentity` tells whether a path still names the file a writer read, so that a
writer can refuse to rename over a file someone replaced meanwhile (a writer that does not
take the lock, or a copy made by hand).
"""

import contextlib
import errno
import os
import time

import attrs

from .errors import OutputError

__all__ = ["FileIdentity", "lock_path", "exclusive", "check_unchanged"]

#: Seconds between attempts while waiting for a lock with a timeout.
POLL_SECONDS = 0.02


@attrs.frozen
class FileIdentity:
    """What tells one file from another that replaced it under the same name."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, stat):
        """The identity in an ``os.stat_result``."""
        return cls(stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)

    @classmethod
    def of_path(cls, path):
        """The identity of the file ``path`` names now, or ``None`` if there is none."""
        try:
            return cls.of(os.stat(path))
        except (OSError, ValueError):
            return None


def lock_path(path):
    """The lock file of ``path``: ``.<name>.lock`` beside the file a symlink names."""
    directory, name = os.path.split(os.path.realpath(os.fspath(path)))
    return os.path.join(directory, f".{name}.lock")


@contextlib.contextmanager
def exclusive(path, timeout=None, doing="write"):
    """Hold the writers' lock of ``path`` for the duration of the block.

    Parameters
    ----------
    path : str
        The file to be written (its lock file is :func:`lock_path`).
    timeout : float, optional
        Seconds to wait for another writer to finish; ``None`` waits as long as it takes,
        ``0`` refuses at once.
    doing : str
        Verb for the error message ("update", "write" ...).

    Raises
    ------
    OutputError
        With ``errno.EBUSY``, naming ``path`` and the lock file, if the lock is still held
        by another writer after ``timeout`` seconds; or if the lock file cannot be made.
    """
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout >= 0):
        raise OutputError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - platforms without flock: no serialisation
        yield None
        return
    lock = lock_path(path)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        fd = _open_lock(lock, path, doing)
        try:
            _acquire(fcntl, fd, deadline, timeout, lock, path, doing)
        except BaseException:
            os.close(fd)
            raise
        # The holder before us may have removed the lock file as it finished: then we hold
        # a lock nobody else can see, and must lock the file that is there now.
        if _same_file(fd, lock):
            break
        os.close(fd)
    try:
        yield lock
    finally:
        # Removed while still held, so that no directory keeps a lock file after its writer;
        # a writer waiting on the removed file sees that above and starts again.
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)  # releases the lock


def _open_lock(lock, path, doing):
    try:
        return os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise OutputError(f"cannot {doing} {path!r}: cannot create its lock file {lock!r} "
                          f"({exc.strerror})", errno=exc.errno, filename=lock) from None


def _acquire(fcntl, fd, deadline, timeout, lock, path, doing):
    if deadline is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise OutputError(
                    f"cannot {doing} {path!r}: another writer holds its lock {lock!r} "
                    f"(waited {timeout:g} s); retry when it has finished, or give a longer "
                    f"timeout", errno=errno.EBUSY, filename=os.fspath(path)) from None
            time.sleep(POLL_SECONDS)


def _same_file(fd, lock):
    try:
        named = os.stat(lock)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def check_unchanged(path, expected, doing="update"):
    """Refuse (OutputError) unless ``path`` still names the file whose identity was
    ``expected`` when it was read."""
    now = FileIdentity.of_path(path)
    if now != expected:
        what = "was removed" if now is None else "was replaced or changed by someone else"
        raise OutputError(f"cannot {doing} {os.fspath(path)!r}: it {what} while it was being "
                          f"read; nothing was written, run again on the current file",
                          errno=errno.ESTALE, filename=os.fspath(path))
