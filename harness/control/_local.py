"""Remote for the control node itself, optionally inside a network namespace (layer: harness/control).

Used by doctor, by backends for host-side setup, and by tests. Commands run
as subprocesses (inside `ip netns exec NS` when `netns` is given); files are
plain local files.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Sequence

from harness.control._remote import CommandResult, Host, RemoteCommandError


def local_host(name: str = "local", workdir: str = "/tmp") -> Host:
    return Host(name=name, address="127.0.0.1", ssh_host="127.0.0.1", workdir=workdir)


async def run_local(argv: Sequence[str], *, timeout: float = 30.0, check: bool = True,
                    stdin: bytes | None = None, name: str = "local") -> CommandResult:
    """Run argv on the control node; kill it on timeout; raise RemoteCommandError on failure."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as exc:
        raise RemoteCommandError(name, argv, None, reason=f"cannot start: {exc}") from None
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate(stdin)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RemoteCommandError(name, argv, None, reason=f"timed out after {timeout:g} s") from None
    result = CommandResult(name, tuple(argv), proc.returncode,
                           out.decode(errors="replace"), err.decode(errors="replace"))
    if check and proc.returncode != 0:
        raise RemoteCommandError(name, argv, proc.returncode, result.stdout, result.stderr)
    return result


class LocalRemote:
    """Remote whose commands run on the control node (inside `netns` if given)."""

    def __init__(self, host: Host | None = None, *, netns: str | None = None):
        self.host = host or local_host()
        self.netns = netns

    async def connect(self) -> "LocalRemote":
        return self

    async def exec(self, argv: Sequence[str], *, timeout: float = 30.0, check: bool = True,
                   stdin: bytes | None = None) -> CommandResult:
        full = ["ip", "netns", "exec", self.netns, *argv] if self.netns else list(argv)
        result = await run_local(full, timeout=timeout, check=False, stdin=stdin,
                                 name=self.host.name)
        # Report the caller's argv, not the netns wrapper, so errors read the same everywhere.
        result = CommandResult(result.host, tuple(argv), result.exit_status,
                               result.stdout, result.stderr)
        if check and result.exit_status != 0:
            raise RemoteCommandError(self.host.name, argv, result.exit_status,
                                     result.stdout, result.stderr)
        return result

    async def upload(self, local_path: str, remote_path: str) -> None:
        await asyncio.to_thread(self._copy, local_path, remote_path)

    async def download(self, remote_path: str, local_path: str) -> None:
        await asyncio.to_thread(self._copy, remote_path, local_path)

    async def write_file(self, remote_path: str, data: bytes) -> None:
        await asyncio.to_thread(self._io, Path(remote_path).write_bytes, data)

    async def read_file(self, remote_path: str) -> bytes:
        return await asyncio.to_thread(self._io, Path(remote_path).read_bytes)

    async def close(self) -> None:
        return None

    def _copy(self, src: str, dst: str) -> None:
        self._io(shutil.copyfile, src, dst)

    def _io(self, fn, *args):
        try:
            return fn(*args)
        except OSError as exc:
            raise RemoteCommandError(self.host.name, [fn.__name__, *map(str, args[:1])], None,
                                     reason=os.strerror(exc.errno or 0) or str(exc)) from None
