"""The SFTP archive store's data streams (``tre_archive_sftp``): a file written with large
pipelined WRITE requests and made durable (``fsync@openssh.com``) before it is closed, and a
file read front to back with many large READ requests in flight."""

from __future__ import annotations

import errno
from collections.abc import Callable

try:
    from paramiko.sftp import CMD_DATA, CMD_READ

    try:
        from paramiko.sftp import int64
    except ImportError:  # paramiko 2 (Debian 12's python3-paramiko)
        from paramiko.py3compat import long as int64
except ImportError:  # pragma: no cover - reported by the module
    pass

#: Writes: SFTP WRITE requests of WRITE_SIZE bytes (paramiko's default is 32 KiB; OpenSSH's
#: sftp-server takes messages up to 256 KiB). Fewer requests = less of paramiko's per-request
#: Python work: measured 1.2-1.5x on loopback (docs/storage.md, "Transport").
WRITE_SIZE = 128 << 10
#: Read-back: requests of READ_SIZE bytes, READ_DEPTH of them in flight (~8 MiB). OpenSSH's
#: sftp-server answers up to 255 KiB per READ; a server that answers less makes the reader
#: ask for that much from then on (``MIN_READ`` at least). Measured on loopback: 248 KiB x 32
#: 1.5-1.9x faster than 64 KiB x 128.
READ_SIZE = 248 << 10
READ_DEPTH = 32
MIN_READ = 16 << 10


class SftpWriter:
    """An open SFTP file (paramiko's, pipelined); ``close`` flushes, then ``fsync(handle)``."""

    def __init__(self, handle, fsync: Callable[[object], None]) -> None:
        self.handle = handle
        self.fsync = fsync

    def write(self, data: bytes) -> int:
        self.handle.write(data)
        return len(data)

    def close(self) -> None:
        if self.handle is None:
            return
        handle, self.handle = self.handle, None
        try:
            handle.flush()
            self.fsync(handle)
        finally:
            handle.close()


class SequentialReader:
    """A file read front to back with READ_DEPTH read requests in flight (``read(n)`` returns
    the next chunk, whatever ``n``; ``b""`` at the end). A short read re-requests the rest."""

    def __init__(self, sftp, handle) -> None:
        self.sftp, self.handle = sftp, handle
        self.offset = 0  # of the next byte to hand out
        self.issued = 0  # offset of the next request
        self.size = READ_SIZE  # of each request; lowered to what the server answers
        self.pending: list[tuple[int, int]] = []  # (request number, offset), in order
        self.got: dict[int, bytes | BaseException] = {}
        self.eof = False

    def _async_response(self, kind, msg, num) -> None:  # called by paramiko
        if kind == CMD_DATA:
            self.got[num] = msg.get_string()
            return
        try:
            self.sftp._convert_status(msg)
            self.got[num] = OSError(errno.EIO, "unexpected reply to a read")
        except EOFError:
            self.got[num] = b""
        except OSError as exc:
            self.got[num] = exc

    def _fill(self) -> None:
        while not self.eof and len(self.pending) < READ_DEPTH:
            num = self.sftp._async_request(
                self, CMD_READ, self.handle.handle, int64(self.issued), self.size
            )
            self.pending.append((num, self.issued))
            self.issued += self.size

    def _drain(self) -> None:
        """Wait for every request in flight and forget their data (after a short read)."""
        for num, _ in self.pending:
            while num not in self.got:
                self.sftp._read_response()
            self.got.pop(num)
        self.pending = []

    def read(self, _size: int = -1) -> bytes:
        self._fill()
        if not self.pending:
            return b""
        num, offset = self.pending.pop(0)
        while num not in self.got:
            self.sftp._read_response()
        data = self.got.pop(num)
        if isinstance(data, BaseException):
            self._drain()
            raise data
        if not data:
            self.eof = True
            self._drain()
            return b""
        self.offset = offset + len(data)
        if len(data) < self.size:  # short: ask again from where it ended
            self._drain()
            self.issued = self.offset
            self.size = max(len(data), MIN_READ)  # the server's limit (or the end of file)
        return data

    def close(self) -> None:
        try:
            self._drain()
        finally:
            self.handle.close()

    def __enter__(self) -> SequentialReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
