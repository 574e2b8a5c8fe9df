"""Shipper: sends every complete backup and archive segment to every region (layer: emulator shell).

One task per region (`--region NAME=HOST:PORT`, repeatable). Each pass scans
the node's repository for complete items (a backup with its manifest, a segment
with its .json) the region has not acknowledged, and ships each item's files in
order, manifest last, waiting for the region's reply to every put: an item is
acknowledged only when the region has stored every file of it. Asynchronous:
backups and segments never wait for a region. On a connection failure or a
silent region (partition) the link is reset (unsent bytes dropped), and the task
reconnects every RETRY_S and asks the region
what it holds (`have`), so a region that was cut off catches up after the heal.

Planted bug `ship-early-ack`: an item is counted acknowledged as soon as its
puts are written to the socket, before the region replied, and what the region
holds is never asked again: items sent into a partition are lost for good.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket
import struct

from . import repo as R

log = logging.getLogger("emulator.shipper")
RETRY_S, PASS_S, CONNECT_S, REPLY_S = 0.5, 0.1, 2.0, 10.0
BATCH = 16                  # items shipped between two scans of the repository
LINE_LIMIT = 16 * 1024 * 1024


def complete_items(repo: str, cache: dict | None = None) -> list[tuple[str, list]]:
    """(item key, [(path, blake3 from the manifest or None for the manifest itself)])
    for every complete backup and segment, backups first, oldest first; manifests come
    last in each item. `cache` (key -> files) spares re-reading manifests: a manifest
    is written once and never changes (a tampered one is re-read until it checks out)."""
    cache = {} if cache is None else cache
    items = []
    for bid in R.backup_ids(repo):
        key = f"{R.BACKUPS}/{bid}"
        if key not in cache:
            m, _ = R.read_manifest(os.path.join(repo, key, R.MANIFEST))
            if m is None:
                continue          # a tampered manifest is not shipped; verify names it
            cache[key] = [(f"{key}/{c['name']}", c["blake3"]) for c in m["chunks"]] + \
                [(f"{key}/{R.MANIFEST}", None)]
        items.append((key, cache[key]))
    try:
        names = sorted(n for n in os.listdir(os.path.join(repo, R.ARCHIVE)) if n.endswith(".json"))
    except FileNotFoundError:
        names = []
    for n in names:
        key = f"{R.ARCHIVE}/{n[:-5]}"
        if key not in cache:
            m, _ = R.read_manifest(os.path.join(repo, R.ARCHIVE, n))
            if m is None:
                continue
            cache[key] = [(f"{R.ARCHIVE}/{m['file']}", m["blake3"]), (f"{key}.json", None)]
        items.append((key, cache[key]))
    return items


class RegionLink:
    """Ships this node's repository to one region."""

    def __init__(self, node: str, region: str, addr: tuple[str, int], repo: str,
                 early_ack: bool = False):
        self.node, self.region, self.addr, self.repo = node, region, addr, repo
        self.early_ack = early_ack
        self.acked: set[str] = set()
        self.connected = False
        self.last_ack: float | None = None
        self._cache: dict = {}

    def status(self) -> dict:
        return {"connected": self.connected, "acked": len(self.acked), "last_ack": self.last_ack}

    async def run(self) -> None:
        while True:
            try:
                await self._session()
            except (OSError, asyncio.TimeoutError, ConnectionError, ValueError) as e:
                if self.connected:
                    log.info("region %s: link lost (%s)", self.region, e)
            self.connected = False
            await asyncio.sleep(RETRY_S)

    async def _session(self) -> None:
        async with asyncio.timeout(CONNECT_S):
            reader, writer = await asyncio.open_connection(*self.addr, limit=LINE_LIMIT)
        try:
            self.connected = True
            if not self.early_ack:
                have = await self._call(reader, writer, {"op": "have", "node": self.node})
                self.acked = _held_items(have.get("files", {}), self.repo, self._cache)
            while True:
                items = await asyncio.to_thread(complete_items, self.repo, self._cache)
                todo = [(k, f) for k, f in items if k not in self.acked][:BATCH]
                for key, files in todo:     # at most BATCH, then rescan: a new backup
                    await self._ship(reader, writer, key, files)   # never waits long
                if len(todo) < BATCH:
                    await asyncio.sleep(PASS_S)
        finally:
            _reset(writer)

    async def _ship(self, reader, writer, key: str, files) -> None:
        pending = 0
        for path, digest in files:
            data = await asyncio.to_thread(_read, os.path.join(self.repo, path))
            req = {"op": "put", "node": self.node, "path": path, "size": len(data),
                   "blake3": digest or R.blake3(data).hexdigest(),
                   "data": base64.b64encode(data).decode()}
            if self.early_ack:
                writer.write(json.dumps(req).encode() + b"\n")
                pending += 1
                continue
            reply = await self._call(reader, writer, req)
            if not reply.get("ok"):
                log.warning("region %s refused %s: %s", self.region, path, reply.get("message"))
                return
        self.acked.add(key)
        self.last_ack = asyncio.get_running_loop().time()
        if pending:                         # the bug: acknowledged before any reply
            async with asyncio.timeout(REPLY_S):
                await writer.drain()
                for _ in range(pending):
                    await reader.readline()

    async def _call(self, reader, writer, req: dict) -> dict:
        async with asyncio.timeout(REPLY_S):
            writer.write(json.dumps(req).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
        if not line:
            raise ConnectionError("region closed the connection")
        return json.loads(line)


def _held_items(files: dict, repo: str, cache: dict) -> set[str]:
    """Items whose every file the region holds with the right hash."""
    held = set()
    for key, wanted in complete_items(repo, cache):
        if all(p in files and (d is None or files[p] == d) for p, d in wanted):
            held.add(key)
    return held


def _reset(writer) -> None:
    """Drop a link we gave up on at once (RST, unsent bytes discarded) rather than let
    the kernel keep retransmitting into a partition: whatever was not acknowledged is
    shipped again on the next connection."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()
