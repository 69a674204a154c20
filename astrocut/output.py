"""Writing results so that a crash never leaves a half-written file under the final name."""

import contextlib
import errno
import os
import secrets

from .errors import InvalidInputError, OutputError


def check_path_text(path, parameter):
    """Return ``path`` as a string; refuse a NUL byte, which no file system allows in a name."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise InvalidInputError(f"{parameter} must be a path, not {type(path).__name__}")
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "\0" in text:
        raise InvalidInputError(f"{parameter} {text!r} contains a NUL byte: no file can have "
                                f"that name")
    return text


def output_error(exc, path, doing="write"):
    """An :class:`OutputError` for the ``OSError`` ``exc`` met while writing ``path``.

    It names the path and the cause, and keeps ``errno`` (a full disk is ``errno.ENOSPC``)
    and the path as ``filename``.
    """
    path = os.fspath(path)
    code = getattr(exc, "errno", None)
    reason = getattr(exc, "strerror", None) or str(exc)
    if code is None and "space" in str(exc).lower():
        code = errno.ENOSPC  # astropy's own "Not enough space on disk" carries no errno
    if code == errno.ENOSPC:
        reason = f"{reason} (the disk is full: free space or write elsewhere)"
    return OutputError(f"cannot {doing} {path!r}: {reason}", code, path)


def prepare_directory(directory, parameter="output_path"):
    """Create ``directory`` if needed; raise :class:`OutputError` naming ``parameter`` if not usable."""
    directory = check_path_text(directory, parameter) or "."
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
    make (a cube) or cannot be made again (an observation). Files are compared by identity
    (device and inode), so a second name of the input (a hard link, a symlink, a path through
    another directory) is caught too; an input that is no local file (a URL) cannot be hit.
    An input that does not exist yet is compared by its resolved name.
    """
    path = os.fspath(path)
    target = _identity(path)
    for source in inputs:
        source = os.fspath(source)
        identity = _identity(source)
        if identity is None:
            same = "://" not in source and os.path.realpath(source) == os.path.realpath(path)
        else:
            same = identity == target
        if same:
            raise OutputError(f"{parameter} {path!r} is one of the inputs ({source!r}): "
                              f"writing it would destroy that input; choose another name")


def _identity(path):
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return stat.st_dev, stat.st_ino


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    An existing file at ``path`` is replaced atomically (readers see the old file or the new
    one, never a mixture). On any error or interruption the temporary file is removed.
    """
    path = check_path_text(path, "output file")
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path!r}: a directory has that name")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {path!r}: directory {directory!r} does not exist")
    temporary = None
    try:
        for _ in range(100):
            # Bound before the file exists, so an interruption at any point can remove it.
            # The writer's pid is in the name, so a process that finds the file orphaned
            # (its writer was killed: kill -9, the OOM killer) can tell it is safe to remove.
            temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}-"
                                                f"{secrets.token_hex(4)}.part")
            if _create_exclusive(temporary):
                break
            temporary = None  # someone else's file: never ours to remove
        else:
            raise OutputError(f"cannot find a free temporary name in {directory!r}")
        try:
            yield temporary
        except OutputError:
            raise
        except OSError as exc:
            # A full disk or a failing device, met by whatever wrote the temporary file.
            raise output_error(exc, path) from None
        try:
            os.replace(temporary, path)
        except OSError as exc:
            raise output_error(exc, path) from None
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
        raise output_error(exc, os.path.dirname(candidate), "write in") from None
    return True


class StagedOutputs:
    """Several outputs that appear together or not at all (see :func:`staged_outputs`)."""

    def __init__(self):
        self._items = []  # (staged path, final path)

    def path(self, final):
        """The temporary name to write ``final`` under; it is renamed at the end."""
        final = check_path_text(final, "output file")
        if os.path.isdir(final):
            raise OutputError(f"cannot write {final!r}: a directory has that name")
        staged = _free_name(final, "staged")
        self._items.append((staged, final))
        return staged

    @property
    def finals(self):
        return [final for _, final in self._items]

    def discard(self):
        for staged, _ in self._items:
            with contextlib.suppress(OSError):
                os.unlink(staged)

    def commit(self):
        """Rename every staged file over its final name; on any failure undo every rename."""
        replaced = []  # (final, backup of the previous file or None), in rename order
        try:
            for staged, final in self._items:
                backup = None
                if os.path.lexists(final):
                    backup = _free_name(final, "previous")
                    _keep_previous(final, backup)
                replaced.append((final, backup))
                os.replace(staged, final)
        except BaseException as exc:
            for final, backup in reversed(replaced):
                with contextlib.suppress(OSError):
                    if backup is not None:
                        os.replace(backup, final)
                    else:
                        os.unlink(final)
            self.discard()
            if isinstance(exc, OSError) and not isinstance(exc, OutputError):
                raise output_error(exc, replaced[-1][0] if replaced else self._items[0][1]) from None
            raise
        finally:
            for _, backup in replaced:
                if backup is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(backup)


@contextlib.contextmanager
def staged_outputs():
    """Yield a :class:`StagedOutputs`; its files replace their final names only if all were written.

    A rerun that fails part way leaves the previous run's files exactly as they were: every
    output is first written under a hidden temporary name, and only when all are complete are
    they renamed into place. Each file they replace is kept (as a hard link, so at no moment
    is a final name missing) until every rename has succeeded; if one fails, the renames
    already made are undone from those copies.
    """
    stage = StagedOutputs()
    try:
        yield stage
    except BaseException:
        stage.discard()
        raise
    stage.commit()


_ORPHAN = None


def remove_orphaned_parts(directory):
    """Remove the ``atomic_path`` temporary files in ``directory`` whose writer has died.

    A worker killed outright cannot remove its own ``.part`` file; the process that saw the
    worker die calls this. Files of live writers (another run racing into the same folder)
    and files not named by ``atomic_path`` are left alone. Returns the paths removed.
    """
    import re

    global _ORPHAN
    _ORPHAN = _ORPHAN or re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.part$")
    removed = []
    for name in os.listdir(directory):
        match = _ORPHAN.match(name)
        if match and _process_gone(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, name))
                removed.append(os.path.join(directory, name))
    return removed


def _process_gone(pid):
    if pid == os.getpid():
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # A killed child not yet reaped by its pool is a zombie: gone for our purpose.
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _free_name(path, kind):
    """An unused hidden name beside ``path``, ending in ``.part`` like every temporary file."""
    directory, name = os.path.split(os.path.abspath(path))
    for _ in range(100):
        candidate = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.{kind}.part")
        if not os.path.lexists(candidate):
            return candidate
    raise OutputError(f"cannot find a free temporary name in {directory!r}")


def _keep_previous(final, backup):
    try:
        os.link(final, backup, follow_symlinks=False)
    except OSError:
        # No hard links on this file system: a copy keeps the bytes (and permission bits).
        import shutil

        shutil.copy2(final, backup, follow_symlinks=False)


def write_zip(output_dir, filename, default_name, entries):
    """Write ``entries`` (``(name, bytes or HDUList)`` pairs) into one zip archive.

    ``filename`` (``default_name`` when ``None``) gets ``.zip`` added if missing and is put
    in ``output_dir`` (created if needed) unless it has a directory of its own. The archive
    appears complete or not at all (:func:`atomic_path`). Returns its path.
    """
    import io
    import zipfile

    output_dir = prepare_directory(output_dir, "output_dir")
    filename = os.fspath(default_name if filename is None else filename)
    if not filename.endswith(".zip"):
        filename += ".zip"
    path = filename if os.path.dirname(filename) else os.path.join(output_dir, filename)
    with atomic_path(path) as temporary, \
            zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            if not isinstance(content, (bytes, bytearray)):
                buffer = io.BytesIO()
                content.writeto(buffer)
                content = buffer.getvalue()
            archive.writestr(name, content)
    return path
