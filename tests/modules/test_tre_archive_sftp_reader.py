"""The SFTP store's pipelined read-back (``tre_archive_sftp._SequentialReader``) against a
scripted SFTP session: the bytes in order whatever order the replies come in, a short reply
re-requested from where it ended (never a gap), an error raised as such, the end found. The
real archive host is in tests/integration/test_archive_sftp.py."""

from __future__ import annotations

import random

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_sftp as sftp_mod
from paramiko.message import Message
from paramiko.sftp import CMD_DATA, CMD_STATUS, SFTP_EOF, SFTP_PERMISSION_DENIED


class _Session:
    """Answers read requests from ``content``; the requests numbered in ``short`` get half a
    reply, those from offset ``deny`` on an error; replies come back in a shuffled order."""

    def __init__(self, content: bytes, short=(), deny=None) -> None:
        self.content, self.short, self.deny = content, set(short), deny
        self.queue: list[tuple[object, int, int, int]] = []
        self.num = 0
        self.rng = random.Random(7)
        self.served_short: list[int] = []

    def _async_request(self, fileobj, _cmd, _handle, offset, size) -> int:
        self.num += 1
        self.queue.append((fileobj, self.num, int(offset), size))
        return self.num

    def _read_response(self) -> None:
        fileobj, num, offset, size = self.queue.pop(self.rng.randrange(len(self.queue)))
        msg = Message()
        if self.deny is not None and offset >= self.deny:
            msg.add_int(SFTP_PERMISSION_DENIED)
            msg.add_string("Permission denied")
            kind = CMD_STATUS
        elif offset >= len(self.content):
            msg.add_int(SFTP_EOF)
            msg.add_string("End of file")
            kind = CMD_STATUS
        else:
            data = self.content[offset : offset + size]
            if num in self.short:
                self.served_short.append(offset)
                data = data[: len(data) // 2]
            msg.add_string(data)
            kind = CMD_DATA
        msg.rewind()
        fileobj._async_response(kind, msg, num)

    def _convert_status(self, msg: Message) -> None:
        code = msg.get_int()
        if code == SFTP_EOF:
            raise EOFError()
        raise PermissionError(13, msg.get_text())


class _Handle:
    handle = b"h"
    closed = False

    def close(self) -> None:
        self.closed = True


def _read_all(session: _Session) -> bytes:
    handle = _Handle()
    with sftp_mod._SequentialReader(session, handle) as reader:
        out = b"".join(iter(lambda: reader.read(1 << 20), b""))
    assert handle.closed
    return out


@pytest.mark.parametrize("size", [0, 1, sftp_mod.READ_SIZE, 50 * sftp_mod.READ_SIZE + 17])
def test_every_byte_in_order(size: int) -> None:
    content = random.Random(size).randbytes(size)
    assert _read_all(_Session(content)) == content


def test_a_short_reply_is_re_requested_not_a_gap() -> None:
    content = random.Random(1).randbytes(300 * sftp_mod.READ_SIZE + 5)
    session = _Session(content, short=[1, 150, 300])
    assert _read_all(session) == content
    assert len(session.served_short) == 3 and session.served_short[0] == 0


def test_an_error_reply_is_raised() -> None:
    content = bytes(10 * sftp_mod.READ_SIZE)
    with pytest.raises(PermissionError):
        _read_all(_Session(content, deny=3 * sftp_mod.READ_SIZE))
