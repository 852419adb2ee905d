"""``SftpArchiveStore``: the archive root on the archive host, over SFTP (``tre_archive_store``).

The account (lab: ``tre-archive``) is confined to the archive by the archive host's sshd
(``ChrootDirectory``, ``ForceCommand internal-sftp``): the root given here is the path it sees
(lab: ``/archive``). The host key is checked against ``known_hosts`` only (unknown or another
key: nothing is sent). Files are created exclusively (``O_EXCL``), made 0600 through the open
handle before any byte is written, written pipelined and made durable with the
``fsync@openssh.com`` extension before they are closed; directories are 0700. The listing
takes the attributes SFTP's ``READDIR`` gives (``lstat``: a link is reported as a link); a
file to read is ``lstat``-ed first and refused unless regular, then read with prefetching.
SFTP has no way to drop the archive host's page cache: a read-back over SFTP reads what its
file system returns (docs/storage.md, "Transport").
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from typing import BinaryIO

from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_sftp_io import (
    WRITE_SIZE,
    SequentialReader,
    SftpWriter,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_archive_store import (
    DIR_MODE,
    FILE_MODE,
    ROOT_MODE,
    TAGMANIFEST,
    Entry,
    StoreError,
    bag_name,
    check_name,
    incoming_name,
    kind_of,
)

try:
    import paramiko
    from paramiko.sftp import (
        CMD_CLOSE,
        CMD_EXTENDED,
        CMD_HANDLE,
        CMD_NAME,
        CMD_OPENDIR,
        CMD_READDIR,
    )
    from paramiko.sftp_attr import SFTPAttributes
except ImportError:  # pragma: no cover - reported by the module
    paramiko = None

#: SSH channel window and SFTP packet size: a large window keeps loopback and LAN links busy
WINDOW = 64 << 20
PACKET = 32 << 10
#: Preferred first when paramiko has it (3.3+): AES-GCM needs no separate HMAC pass (measured
#: 1.3-1.6x on writes); otherwise paramiko's own order (Debian 12's 2.12: aes128-ctr).
GCM = "aes128-gcm@openssh.com"


def _missing(exc: OSError) -> bool:
    return getattr(exc, "errno", None) == errno.ENOENT


class SftpArchiveStore:
    """An archive root reached over SFTP (``ArchiveStore``)."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        key_file: str,
        known_hosts: str,
        root: str,
        timeout: int = 15,
    ) -> None:
        if paramiko is None:
            raise StoreError("the archive host is reached with paramiko, which is not installed")
        self.host, self.port, self.user = host, port, user
        self.base = posixpath.normpath(root)
        self.root = f"sftp://{user}@{host}:{port}{self.base}"
        self.fsync_supported = True
        self._client = _connect(host, port, user, key_file, known_hosts, timeout)
        try:
            transport = self._client.get_transport()
            self._sftp = paramiko.SFTPClient.from_transport(
                transport, window_size=WINDOW, max_packet_size=PACKET
            )
        except (paramiko.SSHException, OSError) as exc:
            self._client.close()
            raise StoreError(f"archive host {host}:{port}: no SFTP session ({exc})") from None

    def _path(self, name: str) -> bytes:
        # bytes: a name that is not UTF-8 (a researcher's file) is sent as it is
        return os.fsencode(posixpath.join(self.base, *check_name(name)))

    def _readdir(self, path: bytes) -> list[tuple[str, SFTPAttributes]]:
        """(name, attributes) of a directory; paramiko's listdir_attr would decode the names
        as UTF-8 and fail on any other name."""
        kind, msg = self._sftp._request(CMD_OPENDIR, path)
        if kind != CMD_HANDLE:
            raise OSError(errno.EIO, "expected a directory handle")
        handle = msg.get_binary()
        found = []
        try:
            while True:
                try:
                    kind, msg = self._sftp._request(CMD_READDIR, handle)
                except EOFError:
                    break
                if kind != CMD_NAME:
                    raise OSError(errno.EIO, "expected a directory listing")
                for _ in range(msg.get_int()):
                    name = os.fsdecode(msg.get_string())
                    attr = SFTPAttributes._from_msg(msg, name, msg.get_string())
                    if name not in (".", ".."):
                        found.append((name, attr))
        finally:
            self._sftp._request(CMD_CLOSE, handle)
        return sorted(found, key=lambda item: item[0])

    def location(self, project: str) -> str:
        return f"{self.root}/{bag_name(project)}"

    def prepare_root(self, fix: bool = True) -> str | None:
        try:
            st = self._sftp.lstat(self.base)
        except OSError as exc:
            if _missing(exc):
                raise StoreError(f"archive root {self.root} does not exist") from None
            raise
        if kind_of(st.st_mode or 0) != "dir":
            raise StoreError(f"archive root {self.root} is not a directory (a link?)")
        mode = stat.S_IMODE(st.st_mode or 0)
        if mode == ROOT_MODE:
            return None
        if fix:
            self._sftp.chmod(self.base, ROOT_MODE)
        done = "set" if fix else "to be set"
        return f"archive root {self.root} was {mode:04o}; {done} to {ROOT_MODE:04o}"

    def kind(self, name: str) -> str | None:
        try:
            return kind_of(self._sftp.lstat(self._path(name)).st_mode or 0)
        except OSError as exc:
            if _missing(exc):
                return None
            raise

    def mode(self, name: str) -> int:
        return stat.S_IMODE(self._sftp.lstat(self._path(name)).st_mode or 0)

    def exists(self, project: str) -> bool:
        return self.kind(bag_name(project)) is not None

    def is_complete(self, project: str) -> bool:
        found = self.kind(bag_name(project))
        if found is None:
            return False
        if found != "dir":
            raise StoreError(f"{self.location(project)} is not a directory; refused")
        return self.kind(f"{bag_name(project)}/{TAGMANIFEST}") == "file"

    def remove_incoming(self, project: str) -> bool:
        name = incoming_name(project)
        if self.kind(name) is None:
            return False
        self._remove(self._path(name))
        return True

    def _remove(self, path: bytes) -> None:
        if kind_of(self._sftp.lstat(path).st_mode or 0) != "dir":
            self._sftp.remove(path)
            return
        for name, attr in self._readdir(path):
            child = posixpath.join(path, os.fsencode(name))
            if kind_of(attr.st_mode or 0) == "dir":
                self._remove(child)
            else:
                self._sftp.remove(child)
        self._sftp.rmdir(path)

    def mkdir(self, name: str) -> None:
        path = self._path(name)
        self._sftp.mkdir(path, DIR_MODE)
        self._sftp.chmod(path, DIR_MODE)  # whatever the server's umask

    def open_write(self, name: str) -> SftpWriter:
        handle = self._sftp.open(self._path(name), "wbx")
        try:
            handle.chmod(FILE_MODE)  # on the handle, before any byte
            handle.set_pipelined(True)
            handle.MAX_REQUEST_SIZE = WRITE_SIZE  # per WRITE request (paramiko's attribute)
        except BaseException:
            handle.close()
            raise
        return SftpWriter(handle, self.fsync)

    def fsync(self, handle) -> None:
        """``fsync@openssh.com`` on an open handle (OpenSSH's sftp-server has it)."""
        if not self.fsync_supported:
            return
        try:
            self._sftp._request(CMD_EXTENDED, "fsync@openssh.com", handle.handle)
        except OSError as exc:
            if "unsupported" not in str(exc).lower():
                raise
            self.fsync_supported = False

    def set_times(self, name: str, atime_ns: int, mtime_ns: int) -> None:
        # SFTP version 3 carries whole seconds
        self._sftp.utime(self._path(name), (atime_ns // 10**9, mtime_ns // 10**9))

    def sync(self, name: str) -> None:
        check_name(name)  # every file was fsynced when it was closed

    def rename(self, old: str, new: str) -> None:
        if self.kind(new) is not None:
            raise StoreError(f"{self.root}/{new} exists; refused")
        # SFTP's rename (not posix-rename): never replaces what is at ``new``
        self._sftp.rename(self._path(old), self._path(new))

    def open_read(self, project: str, relpath: str) -> BinaryIO:
        """A sequential stream (``read``, ``close``; no ``seek``), pipelined."""
        handle = self._open_regular(f"{bag_name(project)}/{relpath}")
        return SequentialReader(self._sftp, handle)  # type: ignore[return-value]

    def open_name(self, name: str) -> BinaryIO:
        """A seekable file (zip listings): paramiko's, without read-ahead."""
        return self._open_regular(name)

    def _open_regular(self, name: str):
        path = self._path(name)
        if kind_of(self._sftp.lstat(path).st_mode or 0) != "file":
            raise StoreError(f"{self.root}/{name} is not a regular file")
        return self._sftp.open(path, "rb")

    def listing(self, project: str, under: str = "") -> list[Entry]:
        top = f"{bag_name(project)}/{under}" if under else bag_name(project)
        found: list[Entry] = []
        self._list(self._path(top), under, found)
        return sorted(found, key=lambda e: e.path)

    def _list(self, path: bytes, prefix: str, found: list[Entry]) -> None:
        for name, attr in self._readdir(path):
            rel = f"{prefix}/{name}" if prefix else name
            kind = kind_of(attr.st_mode or 0)
            found.append(Entry(rel, kind, attr.st_size or 0, stat.S_IMODE(attr.st_mode or 0)))
            if kind == "dir":
                self._list(posixpath.join(path, os.fsencode(name)), rel, found)

    def patch(self, name: str, offset: int, data: bytes) -> None:
        """Overwrite bytes of an existing file (the lab tests' ``flip`` hook only)."""
        with self._sftp.open(self._path(name), "r+b") as handle:
            handle.seek(offset)
            handle.write(data)

    def chmod(self, name: str, mode: int) -> None:
        self._sftp.chmod(self._path(name), mode)

    def close(self) -> None:
        try:
            self._sftp.close()
        finally:
            self._client.close()


def _gcm_first():
    """A ``Transport`` offering AES-GCM first, or None (paramiko without it)."""
    if paramiko is None or GCM not in paramiko.Transport._preferred_ciphers:
        return None
    order = (GCM, *(c for c in paramiko.Transport._preferred_ciphers if c != GCM))
    return type("GcmFirstTransport", (paramiko.Transport,), {"_preferred_ciphers": order})


_GcmFirst = _gcm_first()


def _connect(host: str, port: int, user: str, key_file: str, known_hosts: str, timeout: int):
    where = f"archive host {host}:{port}"
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(known_hosts)
    except OSError as exc:
        raise StoreError(f"cannot read known_hosts {known_hosts}: {exc.strerror}") from None
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    faster = {"transport_factory": _GcmFirst} if _GcmFirst is not None else {}
    try:
        client.connect(
            host,
            port=port,
            username=user,
            key_filename=key_file,
            timeout=timeout,
            allow_agent=False,
            look_for_keys=False,
            **faster,
        )
    except paramiko.BadHostKeyException:
        raise StoreError(
            f"host key of {where} does not match {known_hosts} (possible impersonation)"
        ) from None
    except paramiko.AuthenticationException:
        raise StoreError(f"{where}: authentication of {user} failed") from None
    except paramiko.SSHException as exc:
        cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "known_hosts" in cause:
            cause = f"host key unknown (not in {known_hosts})"
        raise StoreError(f"{where}: {cause}") from None
    except (TimeoutError, OSError) as exc:
        raise StoreError(
            f"cannot connect to {where}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return client


#: What a lost or refused connection raises besides ``OSError`` (one line each).
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    (paramiko.SSHException, EOFError) if paramiko is not None else (EOFError,)
)
