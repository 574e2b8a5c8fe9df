"""Remote over SSH (asyncssh): one reused connection per host (layer: harness/control).

Host keys are never trusted blindly: a Host with `host_key` is pinned to
exactly that key; one without is checked against a known_hosts file (the
user's by default) and refused if the key is not listed there.
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Sequence

import asyncssh

from harness.control._remote import CommandResult, Host, HostUnreachable, RemoteCommandError


def _known_hosts_for(host: Host, known_hosts: str | None):
    if host.host_key:
        key = asyncssh.import_public_key(host.host_key)
        return ([key], [], [])
    path = Path(known_hosts or "~/.ssh/known_hosts").expanduser()
    if not path.is_file():
        return ([], [], [])          # nothing trusted: every key is refused
    return str(path)


def _unreachable(host: Host, exc: BaseException) -> HostUnreachable:
    where = f"{host.name} ({host.user}@{host.ssh_host}:{host.ssh_port})"
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        why = ("host key not trusted: it is not the pinned key" if host.host_key else
               "host key unknown: add it to ~/.ssh/known_hosts (ssh-keyscan) "
               "or set host_key in the inventory")
        return HostUnreachable(f"{where}: {why} ({exc})")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return HostUnreachable(f"{where}: connection timed out")
    return HostUnreachable(f"{where}: {type(exc).__name__}: {exc}")


class SshRemote:
    """Remote for one Host over one SSH connection, opened by `connect()`.

    Commands run as Host.user, prefixed with `sudo -n` when Host.sudo is set
    and the user is not root. Files move over SFTP as Host.user.
    """

    def __init__(self, host: Host, *, known_hosts: str | None = None,
                 connect_timeout: float = 10.0):
        self.host = host
        self._known_hosts = known_hosts
        self._connect_timeout = connect_timeout
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None

    async def connect(self) -> "SshRemote":
        """Open the connection; raise HostUnreachable naming the host and the cause."""
        h = self.host
        try:
            async with asyncio.timeout(self._connect_timeout):
                self._conn = await asyncssh.connect(
                    h.ssh_host, port=h.ssh_port, username=h.user,
                    client_keys=[h.key_path] if h.key_path else None,
                    known_hosts=_known_hosts_for(h, self._known_hosts),
                    agent_path=None, config=None, preferred_auth="publickey")
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            raise _unreachable(h, exc) from None
        return self

    def _command(self, argv: Sequence[str]) -> str:
        if self.host.sudo and self.host.user != "root":
            argv = ["sudo", "-n", "--", *argv]
        return shlex.join(argv)

    async def exec(self, argv: Sequence[str], *, timeout: float = 30.0, check: bool = True,
                   stdin: bytes | None = None) -> CommandResult:
        """Run argv; raise RemoteCommandError on non-zero exit (if check) or timeout."""
        conn = self._require()
        try:
            async with asyncio.timeout(timeout):
                proc = await conn.run(self._command(argv), input=stdin, encoding=None,
                                      check=False)
        except TimeoutError:
            raise RemoteCommandError(self.host.name, argv, None,
                                     reason=f"timed out after {timeout:g} s") from None
        except (OSError, asyncssh.Error) as exc:
            raise RemoteCommandError(self.host.name, argv, None,
                                     reason=f"connection lost: {exc}") from None
        out = (proc.stdout or b"").decode(errors="replace")
        err = (proc.stderr or b"").decode(errors="replace")
        status = proc.exit_status if proc.exit_status is not None else -1
        result = CommandResult(self.host.name, tuple(argv), status, out, err)
        if check and status != 0:
            raise RemoteCommandError(self.host.name, argv, status, out, err)
        return result

    async def _sftp_client(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            self._sftp = await self._require().start_sftp_client()
        return self._sftp

    async def _file_op(self, what: str, coro_fn, timeout: float = 120.0):
        try:
            async with asyncio.timeout(timeout):
                return await coro_fn(await self._sftp_client())
        except TimeoutError:
            raise RemoteCommandError(self.host.name, [what], None,
                                     reason=f"timed out after {timeout:g} s") from None
        except (OSError, asyncssh.Error) as exc:
            raise RemoteCommandError(self.host.name, [what], None, reason=str(exc)) from None

    async def upload(self, local_path: str, remote_path: str) -> None:
        await self._file_op(f"upload {local_path} -> {remote_path}",
                            lambda s: s.put(local_path, remote_path))

    async def download(self, remote_path: str, local_path: str) -> None:
        await self._file_op(f"download {remote_path} -> {local_path}",
                            lambda s: s.get(remote_path, local_path))

    async def write_file(self, remote_path: str, data: bytes) -> None:
        async def write(sftp):
            async with sftp.open(remote_path, "wb") as f:
                await f.write(data)
        await self._file_op(f"write {remote_path}", write)

    async def read_file(self, remote_path: str) -> bytes:
        async def read(sftp):
            async with sftp.open(remote_path, "rb") as f:
                return await f.read()
        return await self._file_op(f"read {remote_path}", read)

    async def close(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
            self._sftp = None
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
            self._conn = None

    def _require(self) -> asyncssh.SSHClientConnection:
        if self._conn is None:
            raise HostUnreachable(f"{self.host.name}: not connected (call connect() first)")
        return self._conn
