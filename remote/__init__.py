"""The Remote protocol: how nemesis and DB adapters act on a host (layer: leaf).

A leaf module: standard library only, no project imports. `harness.control`
implements `Remote` (SSH over asyncssh, local, inside a network namespace)
and re-exports these names; `nemesis/` and the DB adapters import them from
here, so neither reaches asyncssh, docker or the harness through them. As
jepsen control/core.clj: the protocol alone.

- `Host`: a node the harness controls, whatever backend made it.
- `Remote`: run a command, move or read/write a file on one host.
- `CommandResult`, `RemoteCommandError` (host, argv, exit status, stdout,
  stderr), `HostUnreachable`.
- `ProcessControl` (start, kill, pause, resume the database on a node
  through its Remote) and `ClockControl`: what a DB adapter offers the
  nemesis for process and clock faults.

`ControlError` is the root of every "the run could not be carried out"
error (exit 255); `harness.errors.HarnessError` is this very class, so an
error raised here, in the nemesis or in an adapter is a HarnessError and the
CLI prints it as one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

EXIT_CONTROL = 255


class ControlError(Exception):
    """The run could not be carried out (provisioning, SSH, DB start, a fault): exit 255.

    `harness.errors.HarnessError` is this class. Subclasses may set another
    `exit_code` (bad input: 254)."""

    exit_code = EXIT_CONTROL


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


class RemoteCommandError(ControlError):
    """A command on a host failed or timed out; carries the context to debug it:
    `host`, `argv`, `exit_status` (None: it never finished), `stdout`, `stderr`."""

    exit_code = EXIT_CONTROL

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


class HostUnreachable(ControlError):
    """Could not connect to a host at all (exit 255, naming the host and the cause)."""

    exit_code = EXIT_CONTROL


@runtime_checkable
class Remote(Protocol):
    """Run commands and move files on one host. All methods are coroutines.

    `exec` raises RemoteCommandError on a non-zero exit (unless check=False) and
    on timeout; it never hangs past `timeout` seconds. File methods raise
    RemoteCommandError naming the host and the path.
    """

    host: Host

    async def exec(self, argv: Sequence[str], *, timeout: float = 30.0, check: bool = True,
                   stdin: bytes | None = None) -> CommandResult: ...

    async def upload(self, local_path: str, remote_path: str) -> None: ...

    async def download(self, remote_path: str, local_path: str) -> None: ...

    async def write_file(self, remote_path: str, data: bytes) -> None: ...

    async def read_file(self, remote_path: str) -> bytes: ...

    async def close(self) -> None: ...


@runtime_checkable
class ProcessControl(Protocol):
    """The database process on one node, acted on through that node's Remote.

    `start` launches it daemonized and returns once launched; `kill` is
    SIGKILL (no clean shutdown; no error if it is not running); `pause` and
    `resume` are SIGSTOP and SIGCONT. Each raises a ControlError (usually
    RemoteCommandError) naming the node when it cannot act."""

    async def start(self, remote: Remote) -> None: ...

    async def kill(self, remote: Remote) -> None: ...

    async def pause(self, remote: Remote) -> None: ...

    async def resume(self, remote: Remote) -> None: ...


@runtime_checkable
class ClockControl(Protocol):
    """A node's wall-clock offset (clock faults); 0 restores the true clock."""

    async def set_clock_offset(self, host: Host, offset_ms: float) -> dict: ...


__all__ = ["EXIT_CONTROL", "ClockControl", "CommandResult", "ControlError", "Host",
           "HostUnreachable", "ProcessControl", "Remote", "RemoteCommandError"]
