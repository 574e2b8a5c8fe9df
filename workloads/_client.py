"""Asyncio client for the emulator's JSON-lines protocol (layer: workloads).

Written from docs/protocol.md alone (it must not import emulator/): one TCP
connection per node, one request at a time per connection, a reply is one JSON
line echoing `id`. `call` turns a request into an outcome as STYLE.md 5 wants:

- ok reply -> "ok" with the reply (value, lsn, term, node);
- `not_leader` -> follow `leader_addr` / `leader` (or try the next node when the
  leader is unknown), at most `max_hops` redirects, then "fail";
- other error with `definite: true` -> "fail"; `definite: false` -> "info";
- no reply (timeout, reset, EOF) after the request may have left -> "info";
  the request certainly not sent (connect refused) -> try the next node, then "fail";
- a read (`get`) that does not succeed is always "fail": reads have no effect.
A whole call, redirects included, is bounded by `timeout` seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field

READ_OPS = ("get", "status")


@dataclass
class Outcome:
    """The result of one call: type ok/fail/info, the last reply (or None) and an error text."""

    type: str
    reply: dict | None = None
    error: str | None = None
    hops: int = 0

    def fields(self) -> dict:
        """History completion fields: node, lsn, term (on ok) and error (otherwise)."""
        out = {}
        if self.reply is not None:
            for name in ("node", "lsn", "term"):
                if self.reply.get(name) is not None:
                    out[name] = self.reply[name]
        if self.type != "ok":
            out["error"] = self.error
        return out


class _NotSent(Exception):
    """The request certainly did not leave (connect failed)."""


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self):
        self.writer.close()


@dataclass
class Client:
    """A client of one history process. `nodes`: name -> (host, port); `home` the node tried first."""

    nodes: dict
    home: str
    timeout: float = 1.0
    max_hops: int = 3
    _conns: dict = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def call(self, req: dict, follow: bool = True) -> Outcome:
        """Send req (to home, following redirects when `follow`) and classify the outcome."""
        state = {"sent": False, "last": None}
        try:
            async with asyncio.timeout(self.timeout):
                out = await self._route(req, follow, state)
        except TimeoutError:
            out = Outcome("info" if state["sent"] else "fail", state["last"],
                          f"timeout after {self.timeout}s")
        if req.get("op") in READ_OPS and out.type == "info":
            out.type = "fail"
        return out

    async def _route(self, req, follow, state) -> Outcome:
        target, hops = self.home, 0
        while True:
            try:
                reply = await self._send(target, req, state)
            except _NotSent as exc:
                out = Outcome("fail", None, str(exc), hops)
            except (OSError, EOFError, ValueError) as exc:
                return Outcome("info", None, f"{target}: {type(exc).__name__}: {exc}", hops)
            else:
                state["last"] = reply
                out = _classify(reply, hops)
                if out.type == "ok":
                    self.home = target
                    return out
            if not follow or hops >= self.max_hops or not _retryable(out):
                return out
            target, hops = self._next_target(target, out.reply), hops + 1

    def _next_target(self, current, reply) -> str:
        leader = (reply or {}).get("leader")
        if leader in self.nodes and leader != current:
            return leader
        addr = (reply or {}).get("leader_addr")
        for name, (host, port) in self.nodes.items():
            if addr == f"{host}:{port}" and name != current:
                return name
        names = sorted(self.nodes)
        return names[(names.index(current) + 1) % len(names)]

    async def _send(self, target, req, state) -> dict:
        conn = await self._connect(target)
        rid = next(self._ids)
        line = json.dumps({**req, "id": rid}, separators=(",", ":")).encode() + b"\n"
        state["sent"] = True
        try:
            conn.writer.write(line)
            await conn.writer.drain()
            while True:
                raw = await conn.reader.readline()
                if not raw:
                    raise EOFError(f"connection closed by {target} before the reply")
                reply = json.loads(raw)
                if isinstance(reply, dict) and reply.get("id") == rid:
                    return reply
        except BaseException:
            self._drop(target)
            raise

    async def _connect(self, target) -> _Conn:
        conn = self._conns.get(target)
        if conn is not None and not conn.writer.is_closing() and not conn.reader.at_eof():
            return conn
        self._drop(target)  # closed by the node (restart): a fresh one, nothing was sent on it
        host, port = self.nodes[target]
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            raise _NotSent(f"{target}: connect to {host}:{port}: {exc}") from None
        self._conns[target] = conn = _Conn(reader, writer)
        return conn

    def _drop(self, target):
        conn = self._conns.pop(target, None)
        if conn is not None:
            conn.close()

    async def close(self):
        for target in list(self._conns):
            conn = self._conns.pop(target)
            conn.close()
            try:
                await conn.writer.wait_closed()
            except OSError:
                pass


def _classify(reply, hops) -> Outcome:
    if not isinstance(reply, dict):
        return Outcome("info", None, f"reply is not a JSON object: {reply!r}", hops)
    if reply.get("ok") is True:
        return Outcome("ok", reply, None, hops)
    code = reply.get("error", "no error code")
    kind = "fail" if reply.get("definite") is True else "info"
    return Outcome(kind, reply, f"{code}: {reply.get('message', '')}".rstrip(": "), hops)


def _retryable(out: Outcome) -> bool:
    """Only outcomes where nothing happened may be retried elsewhere."""
    if out.type != "fail":
        return False
    return out.reply is None or out.reply.get("error") == "not_leader"
