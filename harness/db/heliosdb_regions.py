"""Region stores of the heliosdb adapter: backup-store hosts r1..rK (layer: harness).

A case with `regions: K` gets K extra hosts (harness/provision: r1..rK, Host.region
set). On each the adapter unpacks the emulator and starts its region store
(`python3 -m emulator region-store`, docs/protocol.md "Region stores") under
workdir/regions, log workdir/region.log; every node is then started with
`--region NAME=HOST:PORT` for each, and ships its backups and archive segments
there. What a region holds is read two ways: its own `status` over TCP (cheap,
sampled every second for lag), and the harness's own reading of the files over
the region's Remote (harness.region_verify: every manifest checksum and file hash).
"""

from __future__ import annotations

import asyncio
import json
import shlex
import time

from remote import Remote
from harness import region_verify
from harness.errors import HarnessError

REGION_PORT = 7200            # restores serve on 7100 (heliosdb_backup)


class RegionOps:
    """Needs self.setup (unpacks the emulator), self.hosts, self.repo_dir, self.remote."""

    region_remotes: dict = {}
    region_addrs: dict = {}             # name -> (address, port); the nodes' --region flags

    def region_flags(self) -> list[str]:
        return [x for name, (a, p) in sorted(self.region_addrs.items())
                for x in ("--region", f"{name}={a}:{p}")]

    async def start_regions(self, remotes: list[Remote]) -> None:
        """Install and start a region store on each region host (before the nodes start)."""
        self.region_remotes = {r.host.name: r for r in remotes}
        self.region_addrs = {r.host.name: (r.host.address, REGION_PORT) for r in remotes}
        for r in remotes:
            await self.setup(r)
            wd = shlex.quote(r.host.workdir)
            argv = ["python3", "-m", "emulator", "region-store", "--name", r.host.name,
                    "--dir", f"{r.host.workdir}/regions",
                    "--listen", f"{r.host.address}:{REGION_PORT}"]
            await r.exec(["sh", "-c", f"cd {wd} && PYTHONPATH={wd}/lib setsid "
                          f"{shlex.join(argv)} >>{wd}/region.log 2>&1 </dev/null & "
                          f"echo $! > {wd}/region.pid"])
        for name in self.region_addrs:
            if await self.region_status(name, timeout=5.0) is None:
                raise HarnessError(f"{name}: the region store did not answer on "
                                   f"{self.region_addrs[name][0]}:{REGION_PORT} (see region.log)")

    async def region_status(self, name: str, timeout: float = 2.0) -> dict | None:
        """The region store's own account ({"nodes": {node: {"backups", "segments"}}}),
        or None if it does not answer."""
        addr, port = self.region_addrs[name]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                reply = await _request(addr, port, {"op": "status"}, min(timeout, 2.0))
                if isinstance(reply, dict) and reply.get("ok"):
                    return reply
            except (OSError, TimeoutError, ValueError):
                pass
            if loop.time() + 0.2 > deadline:
                return None
            await asyncio.sleep(0.2)

    def region_repo(self, name: str, node: str) -> str:
        return f"{self.region_remotes[name].host.workdir}/regions/{node}"

    async def region_files(self, name: str, node: str) -> dict:
        """The harness's own reading of region `name`'s copy of `node`'s repository."""
        return await region_verify.repo_files(self.region_remotes[name],
                                              self.region_repo(name, node))

    async def source_files(self, node: str) -> dict:
        """The harness's own reading of `node`'s repository."""
        return await region_verify.repo_files(self.remote(node), self.repo_dir(node))

    async def compare_regions(self, node: str) -> dict:
        """The harness's own comparison of every region's copy of `node`'s repository
        with the node's: {"errors": [lines], "source": counts, "copies": {r: counts}}."""
        source = await self.source_files(node)
        copies = {r: await self.region_files(r, node) for r in sorted(self.region_remotes)}

        def counts(c):
            return {"backups": len(c["backups"]), "segments": len(c["segments"]),
                    "bytes_hashed": c["bytes_hashed"], "bad": c["bad"][:5]}
        return {"errors": region_verify.compare_copies(source, copies), "source": counts(source),
                "copies": {r: counts(c) for r, c in copies.items()}}

    # ---- copies of one node's repository: the node's own and each region's ----------------

    def copy_place(self, host: str, node: str) -> tuple[Remote, str]:
        """(Remote, directory) of `host`'s copy of `node`'s repository (host: the node
        itself, or a region)."""
        if host in self.region_remotes:
            return self.region_remotes[host], self.region_repo(host, node)
        return self.remote(host), self.repo_dir(host)

    def _bug_flags(self, *bugs: str) -> str:
        return "".join(f" --bug {b}" for b in bugs if b in self.bugs)

    async def _emulator(self, host: str, args: str, timeout: float = 300.0) -> dict:
        r = self.region_remotes.get(host) or self.remote(host)
        wd = shlex.quote(r.host.workdir)
        res = await r.exec(["sh", "-c", f"cd {wd} && PYTHONPATH=lib python3 -m emulator {args}"],
                           timeout=timeout, check=False)
        try:
            return json.loads(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise HarnessError(f"{host}: emulator {args.split()[0]} exit {res.exit_status}: "
                               f"{res.stderr.strip()[-300:]}") from None

    async def copy_verify_db(self, host: str, node: str) -> dict:
        """The database's own verify of `host`'s copy (`python -m emulator verify`)."""
        _, repo = self.copy_place(host, node)
        return await self._emulator(host, f"verify --repo {shlex.quote(repo)}"
                                    + self._bug_flags("verify-skip-manifest-checksum"))

    async def copy_verify_harness(self, host: str, node: str) -> dict:
        """The harness's own reading of `host`'s copy: {"bad": [{path, reason}], ...}."""
        r, repo = self.copy_place(host, node)
        started = time.monotonic()
        out = await region_verify.repo_files(r, repo)
        return {**{k: out[k] for k in ("backups", "segments", "bad", "bytes_hashed")},
                "seconds": round(time.monotonic() - started, 6)}

    async def copy_repair(self, host: str, node: str) -> dict:
        """The database's repair of `host`'s copy from every other region's copy."""
        _, repo = self.copy_place(host, node)
        sources = ",".join(f"{n}={a}:{p}" for n, (a, p) in sorted(self.region_addrs.items())
                           if n != host)
        return await self._emulator(host, f"repair --repo {shlex.quote(repo)} --node "
                                    f"{shlex.quote(node)} --from {sources}"
                                    + self._bug_flags("repair-unverified-source"))

    async def region_logs(self, local_dir) -> None:
        for name, r in self.region_remotes.items():
            out = local_dir / name
            out.mkdir(parents=True, exist_ok=True)
            text = await r.read_file(f"{r.host.workdir}/region.log")
            (out / "region.log").write_bytes(text if isinstance(text, bytes) else text.encode())


async def _request(address: str, port: int, req: dict, timeout: float) -> dict:
    """One request/reply; a status lists every backup, so lines may be long."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(address, port, limit=64 << 20)
        try:
            writer.write(json.dumps(req).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
        finally:
            writer.close()
    return json.loads(line)
