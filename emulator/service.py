"""Client request handling: one request line in, one reply object out (layer: emulator shell).

Writes are proposed through the Raft log and answered when their entry is
applied; reads go through read index (Raft 6.4) and are answered once the
node has applied up to it; `status` and `set_clock_offset` are local. Every
reply carries `node`, and operation replies `lsn` and `term`.

`get` with `local: true` is the exception, on purpose: any node answers it from
its own applied state (no read index, no redirect) so the harness can read each
replica after healing and compare them. It is not linearizable.

Planted bug `stale-read`: `get` is answered from the local state machine on
any node, follower or deposed leader, without redirect or read index.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os

from .backup import BackupService
from .errors import NodeError
from .protocol import WRITE_OPS, command, parse_request
from .raft._types import Role

log = logging.getLogger("emulator.service")


class Service:
    def __init__(self, node):
        self.node = node
        self.ids = itertools.count(1)
        self.boot = os.urandom(4).hex()  # request ids stay unique across restarts
        self.timeout = node.opts.request_timeout_ms / 1000
        self.backups = BackupService(node)

    async def handle(self, line: bytes) -> dict:
        me = {"node": self.node.opts.id}
        try:
            req = parse_request(line)
        except NodeError as e:
            return {**e.fields, **e.reply(), **me}
        echo = {"id": req["id"]} if "id" in req else {}
        try:
            if req["op"] in WRITE_OPS:
                body = await self._write(req)
            else:
                body = await getattr(self, "_op_" + req["op"])(req)
            return {**echo, "ok": True, **body, **me}
        except NodeError as e:
            return {**echo, **e.reply(), **me}
        except Exception as e:  # a bug here must not kill the connection silently
            log.exception("internal error on %r", req)
            return {**echo, **NodeError("internal", f"{type(e).__name__}: {e}").reply(), **me}

    async def _await(self, fut: asyncio.Future, what: str) -> dict:
        try:
            async with asyncio.timeout(self.timeout):
                return await fut
        except TimeoutError:
            raise NodeError("timeout", f"{what} not completed within "
                            f"{self.node.opts.request_timeout_ms} ms") from None

    async def _write(self, req: dict) -> dict:
        rid = f"{self.node.opts.id}-{self.boot}-{next(self.ids)}"
        cmd = {"rid": rid, **req}
        fut = asyncio.get_running_loop().create_future()
        self.node.post(("propose", command(req, rid), rid, cmd, fut))
        return await self._await(fut, f"{req['op']} {rid}")

    async def _op_get(self, req: dict) -> dict:
        node = self.node
        if req.get("local") is True:
            return {"value": node.kv.get(req["key"]), "lsn": node.applied,
                    "term": node.core.term, "local": True, "applied": node.applied}
        if "stale-read" in node.opts.bugs:
            return {"value": node.kv.get(req["key"]), "lsn": node.applied, "term": node.core.term}
        fut = asyncio.get_running_loop().create_future()
        node.post(("read", next(self.ids), req["key"], fut))
        return await self._await(fut, "read")

    async def _op_backup(self, req: dict) -> dict:
        return await self.backups.backup(req)

    async def _op_list(self, req: dict) -> dict:
        return await self.backups.list(req)

    async def _op_verify(self, req: dict) -> dict:
        return await self.backups.verify(req)

    async def _op_archive_flush(self, req: dict) -> dict:
        return await self.backups.archive_flush(req)

    async def _op_load(self, req: dict) -> dict:
        return await self.backups.load(req, self._propose)

    async def _propose(self, cmd: dict) -> dict:
        """Put one command (without rid) through the log; its reply once applied."""
        rid = f"{self.node.opts.id}-{self.boot}-{next(self.ids)}"
        data = json.dumps({"rid": rid, **cmd}, separators=(",", ":")).encode()
        fut = asyncio.get_running_loop().create_future()
        self.node.post(("propose", data, rid, {"rid": rid, **cmd}, fut))
        return await self._await(fut, f"{cmd['op']} {rid}")

    async def _op_status(self, req: dict) -> dict:
        return status(self.node)

    async def _op_set_clock_offset(self, req: dict) -> dict:
        node = self.node
        node.clock.set_offset_ms(float(req["offset_ms"]))
        node.events.write("clock_offset_set", node.core.term, offset_ms=node.clock.offset_ms)
        return {"clock_offset_ms": node.clock.offset_ms, "wall_clock": node.clock.wall()}


def status(node) -> dict:
    core = node.core
    leader = core.leader
    addr = node.opts.peers.get(leader) if leader else None
    extra = core.status() if hasattr(core, "status") else {}
    return {
        **{k: v for k, v in extra.items()
           if k != "id" and isinstance(v, (str, int, float, bool, type(None)))},
        "role": Role(core.role).value, "term": core.term, "leader": leader,
        "leader_addr": f"{addr[0]}:{addr[1]}" if addr else None,
        "commit": core.commit, "applied": node.applied, "last_index": core.last_index,
        "snapshot_index": node.snap_index, "lsn": node.applied,
        "digest": node.kv.digest(), "digest_index": node.applied,
        "members": sorted(node.opts.peers), "clock_offset_ms": node.clock.offset_ms,
        "wall_clock": node.clock.wall(), "bugs": sorted(node.opts.bugs),
        "peers_connected": sorted(p for p, link in node.links.items() if link.connected),
        "archived_lsn": node.archive.archived_lsn, "applied_ts": node.applied_ts,
        "regions": {n: link.status() for n, link in getattr(node, "region_links", {}).items()},
    }
