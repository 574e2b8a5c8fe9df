"""The node process: TCP listener, peer links, ticker, driver, signals (layer: emulator shell).

One port serves clients and peers: a connection whose first line is a peer
hello carries Raft messages; any other connection is a client's, served one
request at a time (a client wanting concurrency opens more connections).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import signal

from .errors import StartupError
from .node import Node
from .protocol import encode_line
from .service import Service
from .shipper import RegionLink
from .transport import PeerLink, serve_peer

log = logging.getLogger("emulator.server")
LINE_LIMIT = 256 * 1024 * 1024  # a snapshot travels as one line


class Server:
    def __init__(self, opts, clock):
        self.opts = opts
        self.node = Node(opts, clock, random.Random())
        self.service = Service(self.node)
        self.conns: set[asyncio.StreamWriter] = set()

    async def serve(self) -> None:
        """Run until SIGTERM/SIGINT; raises StartupError if the listen address is unusable."""
        host, port = self.opts.listen
        try:
            server = await asyncio.start_server(self._conn, host, port, limit=LINE_LIMIT)
        except OSError as e:
            raise StartupError(f"--listen {host}:{port}: cannot listen: {e.strerror or e}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        self.node.events.write("started", self.node.core.term, listen=f"{host}:{port}",
                               bugs=sorted(self.opts.bugs))
        log.info("listening on %s:%d, peers %s, bugs %s", host, port,
                 ",".join(sorted(self.opts.peers)), sorted(self.opts.bugs) or "none")
        try:
            async with asyncio.TaskGroup() as tg:
                tasks = self._start_tasks(tg)
                await stop.wait()
                log.info("SIGTERM: shutting down")
                server.close()
                for t in tasks:
                    t.cancel()
                for w in list(self.conns):
                    w.close()
        finally:
            self.node.shutdown()

    def _start_tasks(self, tg: asyncio.TaskGroup) -> list[asyncio.Task]:
        for pid, addr in self.opts.peers.items():
            if pid != self.opts.id:
                self.node.links[pid] = PeerLink(self.opts.id, pid, addr, self.opts.cluster_id,
                                               local_host=self.opts.listen[0])
        tasks = [tg.create_task(link.run()) for link in self.node.links.values()]
        tasks.append(tg.create_task(self._tick()))
        tasks.append(tg.create_task(self.node.drive()))
        if "no-fsync" in self.opts.bugs:
            tasks.append(tg.create_task(self._flush_buffer()))
        tasks.append(tg.create_task(self._archive()))
        for name, addr in self.opts.regions:
            link = RegionLink(self.opts.id, name, addr, self.opts.backup_dir,
                              early_ack="ship-early-ack" in self.opts.bugs)
            self.node.region_links[name] = link
            tasks.append(tg.create_task(link.run()))
        return tasks

    async def _archive(self) -> None:
        """Seal applied records into the WAL archive every --archive-interval-ms."""
        while True:
            await asyncio.sleep(self.opts.archive_interval_ms / 1000)
            try:
                await self.node.archive.flush()
            except OSError as e:
                log.error("WAL archive %s: cannot seal a segment: %s", self.opts.backup_dir, e)

    async def _tick(self) -> None:
        interval = self.opts.heartbeat_ms / 2000
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            self.node.post(("tick",))

    async def _flush_buffer(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.node.wal.flush_buffer()

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.conns.add(writer)
        try:
            first = await reader.readline()
            hello = _hello(first)
            if hello is not None:
                await serve_peer(reader, hello, self.opts.cluster_id,
                                 lambda m: self.node.post(("msg", m)))
                return
            line = first
            while line:
                if line.strip():
                    writer.write(encode_line(await self.service.handle(line)))
                    await writer.drain()
                line = await reader.readline()
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass  # client went away or sent an over-long line: drop the connection
        finally:
            self.conns.discard(writer)
            writer.close()


def _hello(line: bytes) -> dict | None:
    if not line.startswith(b'{"hello"'):
        return None
    try:
        d = json.loads(line)
    except ValueError:
        return None
    return d if isinstance(d, dict) and d.get("hello") == "peer" else None
