"""The SFTP store's pipelined read-back (``tre_archive_sftp_io.SequentialReader``) against a
scripted SFTP session: the bytes in order whatever order the replies come in, a short reply
re-requested from where it ended (never a gap), an error raised as such, the end found. The
real archive host is in tests/integration/test_archive_sftp.py."""

from __future__ import annotations

import random

import pytest
from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_sftp as sftp_mod
from ansible_collections.tre.secenv.plugins.module_utils import tre_archive_sftp_io as io_mod
from paramiko.message import Message
from paramiko.sftp import CMD_DATA, CMD_STATUS, SFTP_EOF, SFTP_PERMISSION_DENIED


class _Session:
    """Answers read requests from ``content``; the requests numbered in ``short`` get half a
    reply, those from offset ``deny`` on an error; no reply is longer than ``cap``; replies
    come back in a shuffled order."""

    def __init__(self, content: bytes, short=(), deny=None, cap: int | None = None) -> None:
        self.content, self.short, self.deny, self.cap = content, set(short), deny, cap
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
            data = self.content[offset : offset + min(size, self.cap or size)]
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
    with io_mod.SequentialReader(session, handle) as reader:
        out = b"".join(iter(lambda: reader.read(1 << 20), b""))
    assert handle.closed
    return out


@pytest.mark.parametrize("size", [0, 1, io_mod.READ_SIZE, 50 * io_mod.READ_SIZE + 17])
def test_every_byte_in_order(size: int) -> None:
    content = random.Random(size).randbytes(size)
    assert _read_all(_Session(content)) == content


def test_a_short_reply_is_re_requested_not_a_gap() -> None:
    content = random.Random(1).randbytes(300 * io_mod.READ_SIZE + 5)
    session = _Session(content, short=[1, 150, 300])
    assert _read_all(session) == content
    assert len(session.served_short) == 3 and session.served_short[0] == 0


def test_an_error_reply_is_raised() -> None:
    content = bytes(10 * io_mod.READ_SIZE)
    with pytest.raises(PermissionError):
        _read_all(_Session(content, deny=3 * io_mod.READ_SIZE))


def test_a_server_answering_less_is_asked_for_that_much_from_then_on() -> None:
    """A server whose READ replies are at most 32 KiB (not OpenSSH's 255 KiB): after the first
    short reply the requests are of 32 KiB, not one pipeline drained per reply."""
    cap = 32 << 10
    content = random.Random(2).randbytes(200 * cap + 3)
    session = _Session(content, cap=cap)
    assert _read_all(session) == content
    assert session.num <= 200 + 3 * io_mod.READ_DEPTH


def test_aes_gcm_is_offered_first_when_paramiko_has_it() -> None:
    import paramiko

    if sftp_mod.GCM in paramiko.Transport._preferred_ciphers:  # paramiko 3.3+ (this venv)
        assert sftp_mod._GcmFirst._preferred_ciphers[0] == sftp_mod.GCM
        assert set(sftp_mod._GcmFirst._preferred_ciphers) == set(
            paramiko.Transport._preferred_ciphers
        )
    else:  # Debian 12's 2.12: paramiko's own transport and order
        assert sftp_mod._GcmFirst is None
