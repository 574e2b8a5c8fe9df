"""A database process daemonized on a node with its pid in WORKDIR/node.pid and its output
in WORKDIR/node.log: the process control both adapters share (layer: harness).

`Daemon` gives a DB adapter start (from `argv(host)` and `start_env`), kill (SIGKILL, then
wait until the process is gone, zombies included), pause, resume, alive, teardown, logs
(the `log_files` paths under the workdir) and node_log_tail. `process` names the process in
messages ("etcd", "node process").
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

from remote import Remote, RemoteCommandError
from harness.errors import HarnessError

KILL_WAIT_S = 5.0


class Daemon:
    process = "node process"
    log_files: tuple[str, ...] = ("node.log",)
    start_env = ""          # shell assignments put before the command, e.g. "PYTHONPATH=..."

    def _env(self, workdir: str) -> str:
        return self.start_env.format(wd=workdir)

    async def start(self, remote: Remote) -> None:
        """Launch the process detached (setsid), output appended to node.log, pid saved."""
        wd = shlex.quote(remote.host.workdir)
        env = self._env(wd)
        script = (f"cd {wd} && {env + ' ' if env else ''}setsid "
                  f"{shlex.join(self.argv(remote.host))} >>{wd}/node.log 2>&1 </dev/null & "
                  f"echo $! > {wd}/node.pid")
        await remote.exec(["sh", "-c", script])

    async def _signal(self, remote: Remote, sig: str) -> bool:
        wd = shlex.quote(remote.host.workdir)
        res = await remote.exec(["sh", "-c", f"[ -f {wd}/node.pid ] && kill -{sig} "
                                 f"\"$(cat {wd}/node.pid)\""], check=False)
        return res.exit_status == 0

    async def alive(self, remote: Remote) -> bool:
        """True while the process exists and is not a zombie (its reaper may be slow)."""
        wd = shlex.quote(remote.host.workdir)
        res = await remote.exec(["sh", "-c", f"p=$(cat {wd}/node.pid) && [ -r /proc/$p/stat ] && "
                                 "[ \"$(sed 's/.*) //' /proc/$p/stat | cut -c1)\" != Z ]"],
                                check=False)
        return res.exit_status == 0

    async def kill(self, remote: Remote) -> None:
        """SIGKILL, then wait until the process is gone; no error if it was not running."""
        if not await self._signal(remote, "KILL"):
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KILL_WAIT_S
        while await self.alive(remote):
            if loop.time() > deadline:
                raise HarnessError(f"{remote.host.name}: {self.process} still alive "
                                   f"{KILL_WAIT_S:g} s after SIGKILL")
            await asyncio.sleep(0.02)

    async def pause(self, remote: Remote) -> None:
        if not await self._signal(remote, "STOP"):
            raise HarnessError(f"{remote.host.name}: cannot pause: no running {self.process}")

    async def resume(self, remote: Remote) -> None:
        if not await self._signal(remote, "CONT"):
            raise HarnessError(f"{remote.host.name}: cannot resume: no running {self.process}")

    async def logs(self, remote: Remote, local_dir: Path) -> list[Path]:
        local_dir = Path(local_dir)
        local_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for rel in self.log_files:
            target = local_dir / Path(rel).name
            try:
                await remote.download(f"{remote.host.workdir}/{rel}", str(target))
                written.append(target)
            except RemoteCommandError:
                continue    # a node that never started has no log: nothing to fetch
        return written

    async def teardown(self, remote: Remote) -> None:
        await self.kill(remote)
        await remote.exec(["rm", "-rf", remote.host.workdir])

    async def node_log_tail(self, remote: Remote, lines: int = 5) -> str:
        res = await remote.exec(["tail", "-n", str(lines), f"{remote.host.workdir}/node.log"],
                                check=False)
        return res.stdout.strip()
