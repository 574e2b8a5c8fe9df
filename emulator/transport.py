"""Peer transport: one outbound TCP link per peer, reconnect with backoff, bounded queue
(layer: emulator shell).

Each node dials every peer and sends Raft messages only on its own outbound
link; a peer's messages to us arrive on the link that peer dialled. A link
starts with a hello line naming sender and cluster. When the queue is full or
the link is down, messages are dropped: Raft retransmits, so loss is safe and a
dead peer never blocks the node.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket

from .protocol import encode_line, message_from_json, message_to_json
from .raft._types import Message

log = logging.getLogger("emulator.transport")
QUEUE_MAX = 4096
BACKOFF_MIN, BACKOFF_MAX = 0.02, 0.25
CONNECT_TIMEOUT_S = 0.25
# A link whose data stays unacknowledged this long is aborted by the kernel and redialled.
# Without it a partition leaves the link in TCP retransmission backoff (0.2 s, 0.4, 0.8,
# 1.6 s, ...), so after the heal a peer stays unheard for seconds and elections stall.
USER_TIMEOUT_MS = 1000


class PeerLink:
    """The outbound side of one peer: `send` never blocks; `run` keeps the link up."""

    def __init__(self, self_id: str, peer_id: str, addr: tuple[str, int], cluster: str,
                 local_host: str | None = None):
        self.self_id, self.peer_id, self.addr, self.cluster = self_id, peer_id, addr, cluster
        # Dial from our own listen address so per-node firewall rules (127.0.0.x pairs,
        # one address per node) see which node a packet comes from.
        self.local = (local_host, 0) if local_host not in (None, "", "0.0.0.0", "::") else None
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_MAX)
        self.dropped = 0
        self.connected = False

    def send(self, msg: Message) -> None:
        try:
            self.queue.put_nowait(encode_line(message_to_json(msg)))
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        backoff = BACKOFF_MIN
        while True:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(
                    *self.addr, local_addr=self.local), CONNECT_TIMEOUT_S)
            except (OSError, asyncio.TimeoutError):
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            backoff = BACKOFF_MIN
            _set_user_timeout(writer)
            await self._pump(writer)

    async def _pump(self, writer: asyncio.StreamWriter) -> None:
        self._drain_stale()
        self.connected = True
        log.info("link to %s %s:%d up", self.peer_id, *self.addr)
        try:
            writer.write(encode_line({"hello": "peer", "from": self.self_id,
                                      "cluster": self.cluster}))
            while True:
                batch = [await self.queue.get()]
                while not self.queue.empty() and len(batch) < 512:
                    batch.append(self.queue.get_nowait())
                writer.write(b"".join(batch))
                await asyncio.wait_for(writer.drain(), 2.0)
        except (OSError, asyncio.TimeoutError) as e:
            log.info("link to %s lost: %s", self.peer_id, e or type(e).__name__)
        finally:
            self.connected = False
            writer.close()

    def _drain_stale(self) -> None:
        # Messages queued while the link was down are stale (old terms, old heartbeats).
        while not self.queue.empty():
            self.queue.get_nowait()


def _set_user_timeout(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None and hasattr(socket, "TCP_USER_TIMEOUT"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, USER_TIMEOUT_MS)


async def serve_peer(reader: asyncio.StreamReader, hello: dict, cluster: str, deliver) -> None:
    """Read Raft messages from an inbound peer link and `deliver(Message)` each one."""
    if hello.get("cluster") != cluster:
        log.warning("refused peer %r: cluster %r is not ours (%s)",
                    hello.get("from"), hello.get("cluster"), cluster)
        return
    while True:
        line = await reader.readline()
        if not line:
            return
        try:
            msg = message_from_json(json.loads(line))
        except (ValueError, KeyError, TypeError) as e:
            log.warning("bad message from peer %r dropped: %s", hello.get("from"), e)
            continue
        deliver(msg)
