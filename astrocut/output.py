"""Writing results so that a crash never leaves a half-written file under the final name."""

import contextlib
import os
import secrets

from .errors import OutputError


def prepare_directory(directory, parameter="output_path"):
    """Create ``directory`` if needed; raise :class:`OutputError` naming ``parameter`` if not usable."""
    directory = os.fspath(directory) or "."
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise OutputError(f"{parameter} {directory!r} is a file, not a directory")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {parameter} {directory!r}: {exc.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"{parameter} {directory!r} is not writable")
    return directory


def refuse_overwriting_inputs(path, inputs, parameter):
    """Raise :class:`OutputError` if writing ``path`` would replace one of ``inputs``.

    An output written over its own input would destroy data that may have taken hours to
    make (a cube) or cannot be made again (an observation).
    """
    target = os.path.realpath(os.fspath(path))
    for source in inputs:
        if "://" not in str(source) and os.path.realpath(os.fspath(source)) == target:
            raise OutputError(f"{parameter} {os.fspath(path)!r} is one of the inputs: "
                              f"writing it would destroy that input; choose another name")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    An existing file at ``path`` is replaced atomically (readers see the old file or the new
    one, never a mixture). On any error or interruption the temporary file is removed.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path!r}: a directory has that name")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {path!r}: directory {directory!r} does not exist")
    temporary = None
    try:
        for _ in range(100):
            # Bound before the file exists, so an interruption at any point can remove it.
            temporary = os.path.join(directory, f".{os.path.basename(path)}."
                                                f"{secrets.token_hex(4)}.part")
            if _create_exclusive(temporary):
                break
            temporary = None  # someone else's file: never ours to remove
        else:
            raise OutputError(f"cannot find a free temporary name in {directory!r}")
        yield temporary
        try:
            os.replace(temporary, path)
        except OSError as exc:
            raise OutputError(f"cannot write {path!r}: {exc.strerror}") from None
    except BaseException:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise


def _create_exclusive(candidate):
    """Create an empty file; ``False`` if the name is taken. The umask sets its permissions."""
    try:
        os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except FileExistsError:
        return False
    except OSError as exc:
        raise OutputError(f"cannot write in {os.path.dirname(candidate)!r}: "
                          f"{exc.strerror}") from None
    return True
