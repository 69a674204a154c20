"""A read-only, seekable binary file over a ranged reader, for code that reads sequentially
(FITS header scans, astropy). Small reads are served from a read-ahead buffer; large ones go
to the reader as one range."""

import io

READ_AHEAD = 64 * 1024


class RangedFile(io.RawIOBase):
    """``reader``'s bytes as a file object (``mode`` "rb", ``name`` the path)."""

    def __init__(self, reader, read_ahead=READ_AHEAD):
        super().__init__()
        self.reader = reader
        self.name = str(reader.path)
        self.mode = "rb"
        self._position = 0
        self._buffer = b""
        self._buffer_start = 0
        self._read_ahead = read_ahead

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
            if wanted >= self._read_ahead:
                data = self.reader.read_ranges([(self._position, wanted)])[0]
                view[:len(data)] = data
                self._position += len(data)
                return len(data)
            length = min(self._read_ahead, self.reader.size - self._position)
            self._buffer = self.reader.read_ranges([(self._position, length)])[0]
            self._buffer_start = self._position
            inner = 0
        view[:wanted] = self._buffer[inner:inner + wanted]
        self._position += wanted
        return wanted

    def pread(self, size, offset):
        """Up to ``size`` bytes at ``offset`` (fewer at the end of the file), as os.pread."""
        size = min(size, max(self.reader.size - offset, 0))
        return self.reader.read_ranges([(offset, size)])[0] if size > 0 else b""

    def close(self):
        # The reader belongs to whoever opened it; only the buffer goes.
        self._buffer = b""
        super().close()
