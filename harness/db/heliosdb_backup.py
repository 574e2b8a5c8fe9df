"""The heliosdb adapter's backup capability: backup, list, verify, restore (layer: harness).

Mixed into `harness.db.heliosdb.HeliosDB` (capabilities "backup",
"incremental-backup", "pitr"). Every method names a node; the adapter needs the
run's Remotes (`attach(remotes)`, called by the runner once they are connected)
for what happens on a node's disk: the harness's own verification
(harness.backup_verify reads manifests and chunks over the Remote and re-hashes
them) and restores (`python3 -m emulator restore` run on the node that holds the
repository, then a single-node emulator started on the restored directory).

Outcomes follow STYLE.md 5, as a dict {"type": ok|fail|info, "reply": ..., "error": ...}:
an ok reply is ok, a definite error reply fail, anything else (timeout, reset,
garbage, an indefinite error) info. Restores never touch the cluster's own nodes:
the restored node listens on RESTORE_PORT + k with peers of itself, and is killed
and its directory removed after it has been read.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import struct
import time

from remote import Remote, RemoteCommandError
from harness import backup_verify
from harness.db import _wire
from harness.errors import HarnessError

RESTORE_PORT = 7100
SNAPSHOT_HEADER = struct.Struct("<2sQQ32s")    # docs/protocol.md "Data directory"
SERVE_TIMEOUT_S = 30.0


def outcome(reply, error: str | None = None) -> dict:
    """{"type", "reply", "error"} for a wire reply (None: no reply, the request may have acted)."""
    if not isinstance(reply, dict):
        return {"type": "info", "reply": None, "error": error or f"no reply: {reply!r}"}
    if reply.get("ok") is True:
        return {"type": "ok", "reply": reply, "error": None}
    kind = "fail" if reply.get("definite") is True else "info"
    return {"type": kind, "reply": reply, "error": reply.get("error") or "error reply"}


class BackupOps:
    """Backup methods of the heliosdb adapter (needs self.hosts, self.port, self.argv)."""

    _remotes: dict = {}
    _restore_seq = 0

    def attach(self, remotes) -> None:
        """The run's Remotes, one per node (restores and verification act through them)."""
        self._remotes = {r.host.name: r for r in remotes}

    def remote(self, node: str) -> Remote:
        if node not in self._remotes:
            raise HarnessError(f"{self.name}: no Remote for node {node!r} (attach(remotes) "
                               "was not called, or the node is not in this cluster)")
        return self._remotes[node]

    def host(self, node: str):
        return next(h for h in self.hosts if h.name == node)

    def repo_dir(self, node: str) -> str:
        """The node's backup repository: the data directory's sibling (docs/protocol.md)."""
        return f"{self.host(node).workdir}/data-backups"

    async def call(self, node: str, req: dict, timeout: float = 30.0) -> dict:
        """One request to `node`, classified (see the module docstring)."""
        h = self.host(node)
        try:
            reply = await _wire.request(h.address, self.port, req, timeout)
        except (OSError, TimeoutError, ValueError, RecursionError) as exc:
            return outcome(None, f"{node}: {type(exc).__name__}: {exc}")
        return outcome(reply)

    async def backup(self, node: str, kind: str, parent: str | None = None,
                     chunk_size: int | None = None, timeout: float = 60.0) -> dict:
        req = {"op": "backup", "kind": kind}
        if parent:
            req["parent"] = parent
        if chunk_size:
            req["chunk_size"] = chunk_size
        return await self.call(node, req, timeout)

    async def backup_list(self, node: str) -> dict:
        return await self.call(node, {"op": "list"})

    async def archive_flush(self, node: str) -> dict:
        return await self.call(node, {"op": "archive_flush"})

    async def load(self, node: str, size: int, value_size: int, prefix: str,
                   timeout: float = 600.0) -> dict:
        return await self.call(node, {"op": "load", "bytes": size, "value_size": value_size,
                                      "prefix": prefix}, timeout)

    async def verify(self, node: str, backup_id: str) -> dict:
        """The harness's own verification of one backup (harness.backup_verify)."""
        return await backup_verify.verify_backup(self.remote(node), self.repo_dir(node),
                                                 backup_id)

    async def verify_archive(self, node: str) -> dict:
        """The harness's own reading of the node's WAL archive (harness.backup_verify)."""
        return await backup_verify.verify_archive(self.remote(node), self.repo_dir(node))

    async def ceilings(self, node: str, size: int) -> dict:
        """The node's own disk write (fsync) and in-memory BLAKE3 rates, this run."""
        out = await backup_verify.host_ceilings(self.remote(node), self.host(node).workdir,
                                                size)
        # the harness hashes on the node (its own program); its SFTP fallback hashes here
        out["control_blake3_bytes_per_s"] = await asyncio.to_thread(
            backup_verify.local_blake3_rate, min(size, 64 << 20))
        return out

    async def restore(self, node: str, target: dict, timeout: float = 300.0,
                      copy: str | None = None) -> dict:
        """Restore `node`'s repository to `target` ({"kind": "lsn", "lsn", "exclusive"} |
        {"kind": "time", "time"} | {"kind": "latest"} | {"kind": "backup", "backup"}) into a
        fresh directory, start a node on it, and read it back. The outcome's reply holds the
        restore tool's output plus `values` (every key of the restored snapshot except the
        load prefix, as the restored node serves them), `digest` (the harness's state digest of
        the restored snapshot), `rto_s` (request to the first read served) and `restore_s`.
        `copy` (a region's name): restore from that region's copy of the repository, on the
        region's host (RegionOps.copy_place), instead of the node's own."""
        r, repo = self.copy_place(copy, node) if copy else (self.remote(node),
                                                            self.repo_dir(node))
        self._restore_seq += 1
        seq = self._restore_seq
        data = f"{r.host.workdir}/restores/r{seq}"
        started = time.monotonic()
        res = await r.exec(["sh", "-c", f"cd {shlex.quote(r.host.workdir)} && PYTHONPATH=lib "
                            f"python3 -m emulator restore --repo {shlex.quote(repo)}"
                            f" --data {shlex.quote(data)} {_target_args(target)}"],
                           timeout=timeout, check=False)
        restore_s = time.monotonic() - started
        try:
            out = json.loads(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            await r.exec(["rm", "-rf", data], check=False)
            return outcome(None, f"restore exit {res.exit_status}: {res.stderr.strip()[-300:]}")
        if out.get("ok") is not True:
            await r.exec(["rm", "-rf", data], check=False)
            return outcome(out)
        try:
            served = await self._serve_restored(r, data, RESTORE_PORT + seq % 500, started)
        finally:
            await r.exec(["sh", "-c", f"[ -f {data}.pid ] && kill -9 $(cat {data}.pid); "
                          f"rm -rf {data} {data}-backups {data}.pid {data}.log"], check=False)
        return outcome({**out, **served, "restore_s": round(restore_s, 6),
                        "reported_digest": out.get("digest")})

    async def _serve_restored(self, r: Remote, data: str, port: int, started: float) -> dict:
        """Start a single node on `data`, wait until it serves a linearizable read, read every
        non-load key of the restored snapshot through it."""
        snap = await r.read_file(f"{data}/snapshot.bin")
        if len(snap) < SNAPSHOT_HEADER.size:
            raise HarnessError(f"{r.host.name}: restored {data}/snapshot.bin is "
                               f"{len(snap)} bytes, shorter than its header")
        body = snap[SNAPSHOT_HEADER.size:]
        digest = await asyncio.to_thread(backup_verify.state_digest, body)
        keys = [k for k in map(json.loads, json.loads(body))
                if not (isinstance(k, str) and k.startswith(LOAD_PREFIX))]
        addr = r.host.address
        argv = ["python3", "-m", "emulator", "--id", "r1", "--listen", f"{addr}:{port}",
                "--peers", f"r1={addr}:{port}", "--data", data, "--election-timeout-ms", "300",
                "--heartbeat-ms", "50"]
        wd = shlex.quote(r.host.workdir)
        await r.exec(["sh", "-c", f"cd {wd} && PYTHONPATH={wd}/lib setsid {shlex.join(argv)} "
                      f">>{data}.log 2>&1 </dev/null & echo $! > {data}.pid"])
        first = await self._first_read(addr, port, keys[0] if keys else "rto-probe")
        rto = time.monotonic() - started
        values = {}
        for k in keys:
            reply = await _wire.request(addr, port, {"op": "get", "key": k}, 5.0)
            if reply.get("ok") is not True:
                raise HarnessError(f"restored node on {r.host.name}:{port}: get {k!r} failed: "
                                   f"{reply.get('error')}")
            values[k] = reply.get("value")
        return {"digest": digest, "values": values, "rto_s": round(rto, 6),
                "served_lsn": first.get("lsn"), "restored_bytes": len(body)}

    async def _first_read(self, addr: str, port: int, key) -> dict:
        loop = asyncio.get_running_loop()
        deadline, last = loop.time() + SERVE_TIMEOUT_S, None
        while loop.time() < deadline:
            try:
                reply = await _wire.request(addr, port, {"op": "get", "key": key}, 1.0)
                if reply.get("ok") is True:
                    return reply
                last = reply.get("error")
            except (OSError, TimeoutError, ValueError) as exc:
                last = f"{type(exc).__name__}"
            await asyncio.sleep(0.02)
        raise HarnessError(f"restored node at {addr}:{port} served no read within "
                           f"{SERVE_TIMEOUT_S:g} s (last: {last})")


LOAD_PREFIX = "load/"


def _target_args(target: dict) -> str:
    kind = target.get("kind")
    if kind == "lsn":
        return f"--to-lsn {int(target['lsn'])}" + (" --exclusive" if target.get("exclusive")
                                                   else "")
    if kind == "time":
        return f"--to-time {float(target['time'])!r}"
    if kind == "backup":
        return f"--backup {shlex.quote(str(target['backup']))}"
    if kind == "latest":
        return "--latest"
    raise HarnessError(f"restore target {target!r}: kind must be lsn, time, backup or latest")


__all__ = ["BackupOps", "RESTORE_PORT", "RemoteCommandError", "outcome"]
