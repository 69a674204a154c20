"""A read-only, seekable binary file over a ranged reader, for code that reads sequentially
(FITS header scans, astropy). Small reads are served from a read-ahead buffer; large ones go
to the reader as one range.

The last few read-ahead blocks are kept on the reader, so files opened on one reader one
after the other (a plugin identifying the file, then its reader opening it) share them.
With ``tail=N``, a read within N bytes of the end reads to the end: for layouts whose last
HDU is read whole right after its header (a cube's table of per-image headers), one round trip
instead of two.
"""

import io

READ_AHEAD = 64 * 1024
KEPT_BLOCKS = 8


def _blocks(reader):
    return reader.__dict__.setdefault("_read_ahead_blocks", {})


def remember_block(reader, start, data):
    """Keep ``data`` (the bytes at ``start``) on ``reader`` for the RangedFiles opened on it:
    a reader that had to read them anyway (for the file's size) spares them a request."""
    blocks = _blocks(reader)
    blocks[start] = data
    while len(blocks) > KEPT_BLOCKS:
        del blocks[next(iter(blocks))]


def remembered(reader, offset, length):
    """``(start, bytes)`` of a block kept on ``reader`` that holds ``length`` bytes at
    ``offset``, or ``None``."""
    for start, data in _blocks(reader).items():
        if start <= offset and offset + length <= start + len(data):
            return start, data
    return None


class RangedFile(io.RawIOBase):
    """``reader``'s bytes as a file object (``mode`` "rb", ``name`` the path)."""

    def __init__(self, reader, read_ahead=READ_AHEAD, tail=0):
        super().__init__()
        self.reader = reader
        self.name = str(reader.path)
        self.mode = "rb"
        self._position = 0
        self._buffer = b""
        self._buffer_start = 0
        self._read_ahead = read_ahead
        self._tail = tail

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._position

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self.reader.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise OSError("negative seek position")
        self._position = position
        return position

    def readinto(self, target):
        view = memoryview(target).cast("B")
        wanted = min(len(view), max(self.reader.size - self._position, 0))
        if wanted <= 0:
            return 0
        inner = self._position - self._buffer_start
        if not (0 <= inner and inner + wanted <= len(self._buffer)):
            self._buffer_start, self._buffer = self._block(wanted)
            inner = self._position - self._buffer_start
        view[:wanted] = self._buffer[inner:inner + wanted]
        self._position += wanted
        return wanted

    def _block(self, wanted):
        """``(start, bytes)`` of a block holding ``wanted`` bytes at the position."""
        position, size = self._position, self.reader.size
        kept = remembered(self.reader, position, wanted)
        if kept is not None:
            return kept
        if size - position <= max(self._tail, wanted):
            length = size - position
        else:
            length = min(max(self._read_ahead, wanted), size - position)
        data = self.reader.read_ranges([(position, length)])[0]
        if length <= max(self._tail, self._read_ahead):
            remember_block(self.reader, position, data)
        return position, data

    def pread(self, size, offset):
        """Up to ``size`` bytes at ``offset`` (fewer at the end of the file), as os.pread."""
        size = min(size, max(self.reader.size - offset, 0))
        if size <= 0:
            return b""
        saved = self._position
        try:
            self._position = offset
            start, data = self._block(size)
        finally:
            self._position = saved
        return data[offset - start:offset - start + size]

    def close(self):
        # The reader belongs to whoever opened it; only the buffer goes.
        self._buffer = b""
        super().close()
