"""The Remote interface: the only way nemesis, workloads and DB adapters act on a host.

Layer: harness/control. Implementations (SSH over asyncssh, local, netns) live
beside this module; nothing above them knows which one it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from harness.errors import HarnessError


@dataclass(frozen=True)
class Host:
    """A node the harness controls over SSH, whatever backend made it.

    `address` is the node's address on the cluster network (what peers and
    clients use); `ssh_host`/`ssh_port` is where the control node reaches its
    sshd (often the same address, port 22). `host_key` is the pinned public
    host key line ("ssh-ed25519 AAAA..."), or None for an inventory host whose
    key comes from a known_hosts file. `workdir` is a directory the harness owns
    on that host (DB binaries, data, logs).
    """

    name: str
    address: str
    ssh_host: str
    ssh_port: int = 22
    user: str = "root"
    key_path: str | None = None
    host_key: str | None = None
    sudo: bool = False
    region: str | None = None
    workdir: str = "/var/lib/heliosdb"
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class CommandResult:
    host: str
    argv: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str


class RemoteCommandError(HarnessError):
    """A command on a host failed or timed out; carries the context to debug it."""

    def __init__(self, host: str, argv: Sequence[str], exit_status: int | None,
                 stdout: str = "", stderr: str = "", reason: str | None = None):
        self.host = host
        self.argv = tuple(argv)
        self.exit_status = exit_status
        self.stdout = stdout
        self.stderr = stderr
        tail = stderr.strip().splitlines()[-3:] if stderr else []
        why = reason or f"exit status {exit_status}"
        msg = f"{host}: {' '.join(self.argv)}: {why}"
        if tail:
            msg += ": " + " | ".join(tail)
        super().__init__(msg)


class HostUnreachable(HarnessError):
    """Could not connect to a host at all (exit 255, naming the host and the cause)."""


class Remote(Protocol):
    """Run commands and move files on one host. All methods are coroutines.

    `exec` raises RemoteCommandError on a non-zero exit (unless check=False) and
    on timeout; it never hangs past `timeout` seconds.
    """

    host: Host

    async def exec(self, argv: Sequence[str], *, timeout: float = 30.0, check: bool = True,
                   stdin: bytes | None = None) -> CommandResult: ...

    async def upload(self, local_path: str, remote_path: str) -> None: ...

    async def download(self, remote_path: str, local_path: str) -> None: ...

    async def write_file(self, remote_path: str, data: bytes) -> None: ...

    async def read_file(self, remote_path: str) -> bytes: ...

    async def close(self) -> None: ...
