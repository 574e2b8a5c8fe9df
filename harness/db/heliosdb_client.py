"""Asyncio client for the emulator's JSON-lines protocol (layer: harness, the heliosdb adapter).

`WireClient` speaks the protocol; `HeliosClient` maps a workload's abstract
ops onto it for one data model ("register": read/write/cas on get/put/cas;
"set": add/read on append/get) and is what the adapter hands to workloads.

Written from docs/protocol.md alone (it must not import emulator/): one TCP
connection per node, one request at a time per connection, a reply is one JSON
line echoing `id`. `call` turns a request into an outcome as STYLE.md 5 wants:

- ok reply -> "ok" with the reply (value, lsn, term, node);
- `not_leader` -> follow `leader_addr` / `leader` (or try the next node when the
  leader is unknown), at most `max_hops` redirects, then "fail";
- other error with `definite: true` -> "fail"; `definite: false` -> "info";
- no reply (timeout, reset, EOF) after the request may have left -> "info";
  the request certainly not sent (connect refused) -> try the next node, then "fail";
- a read (`get`) that does not succeed is always "fail": reads have no effect;
- a reply that is not a JSON object, an over-long line, or bytes that are not
  UTF-8 -> "info" (reads "fail") with the error: the node may have acted.
A whole call, redirects included, is bounded by `timeout` seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field

from workloads import Outcome

READ_OPS = ("get", "status")
MAX_LINE = 1 << 20   # a reply longer than this is garbage, not a reply


@dataclass
class Reply:
    """The result of one wire call: type ok/fail/info, the last reply (or None), an error."""

    type: str
    reply: dict | None = None
    error: str | None = None
    hops: int = 0


class _NotSent(Exception):
    """The request certainly did not leave (connect failed)."""


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self):
        self.writer.close()


@dataclass
class WireClient:
    """A protocol client of one history process. `nodes`: name -> (host, port); `home` the
    node tried first."""

    nodes: dict
    home: str
    timeout: float = 1.0
    max_hops: int = 3
    _conns: dict = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def call(self, req: dict, follow: bool = True) -> Reply:
        """Send req (to home, following redirects when `follow`) and classify the outcome."""
        state = {"sent": False, "last": None}
        try:
            async with asyncio.timeout(self.timeout):
                out = await self._route(req, follow, state)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            out = Reply("info" if state["sent"] else "fail", state["last"],
                          f"timeout after {self.timeout}s")
        if req.get("op") in READ_OPS and out.type == "info":
            out.type = "fail"
        return out

    async def _route(self, req, follow, state) -> Reply:
        target, hops = self.home, 0
        while True:
            try:
                reply = await self._send(target, req, state)
            except _NotSent as exc:
                out = Reply("fail", None, str(exc), hops)
            except (OSError, EOFError, ValueError, RecursionError) as exc:
                return Reply("info", None, f"{target}: {type(exc).__name__}: {exc}", hops)
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
                reply = json.loads(raw, parse_constant=_no_constant)
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
            reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
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


def _no_constant(name):
    raise ValueError(f"reply holds {name}, which is not JSON")


def _classify(reply, hops) -> Reply:
    if not isinstance(reply, dict):
        return Reply("info", None, f"reply is not a JSON object: {reply!r}", hops)
    if reply.get("ok") is True:
        return Reply("ok", reply, None, hops)
    code = reply.get("error", "no error code")
    kind = "fail" if reply.get("definite") is True else "info"
    return Reply(kind, reply, f"{code}: {reply.get('message', '')}".rstrip(": "), hops)


def _retryable(out: Reply) -> bool:
    """Only outcomes where nothing happened may be retried elsewhere."""
    if out.type != "fail":
        return False
    return out.reply is None or out.reply.get("error") == "not_leader"


# ---- the typed client the adapter hands to workloads ---------------------------------------

def _register_request(op: dict, local: bool) -> dict:
    if op["f"] == "read":
        return {"op": "get", "key": op["key"], **({"local": True} if local else {})}
    if op["f"] == "write":
        return {"op": "put", "key": op["key"], "value": op["value"]}
    if op["f"] == "cas":
        expected, new = op["value"]
        return {"op": "cas", "key": op["key"], "from": expected, "to": new}
    raise ValueError(f"register client: unknown op f={op['f']!r}")


def _set_request(op: dict, local: bool) -> dict:
    if op["f"] == "read":
        return {"op": "get", "key": op["key"], **({"local": True} if local else {})}
    if op["f"] == "add":
        return {"op": "append", "key": op["key"], "value": op["value"]}
    raise ValueError(f"set client: unknown op f={op['f']!r}")


def _register_value(value):
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"a register holds an integer or null, got {value!r:.80}")
    return value


def _set_value(value):
    if value is None:
        return []
    if not isinstance(value, list) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in value):
        raise ValueError(f"a set key holds a list of integers, got {value!r:.80}")
    return value


KINDS = {"register": (_register_request, _register_value), "set": (_set_request, _set_value)}


class HeliosClient:
    """`workloads.Client` for one data model over the emulator's protocol."""

    def __init__(self, kind: str, nodes: dict, home: str, timeout: float = 1.0,
                 max_hops: int = 3):
        self.request, self.parse = KINDS[kind]
        self.wire = WireClient(nodes, home, timeout=timeout, max_hops=max_hops)

    @property
    def home(self) -> str:
        return self.wire.home

    @home.setter
    def home(self, node: str) -> None:
        self.wire.home = node

    async def invoke(self, op: dict, *, follow: bool = True, local: bool = False) -> Outcome:
        out = await self.wire.call(self.request(op, local), follow=follow and not local)
        reply = out.reply if isinstance(out.reply, dict) else {}
        fields = {k: reply.get(k) for k in ("node", "lsn", "term")}
        if not all(v is None or isinstance(v, (str, int)) for v in fields.values()):
            fields = {}   # garbage metadata is not recorded as if the node had said it
        if out.type != "ok":
            return Outcome(out.type, None, out.error, hops=out.hops, **fields)
        if op["f"] != "read":
            return Outcome("ok", op["value"], None, hops=out.hops, **fields)
        try:
            value = self.parse(reply.get("value"))
        except ValueError as exc:   # a read has no effect: an answer we cannot use is a fail
            return Outcome("fail", None, f"garbage reply: {exc}", hops=out.hops)
        return Outcome("ok", value, None, hops=out.hops, **fields)

    async def close(self) -> None:
        await self.wire.close()


def connector(nodes: dict, kind: str):
    """connect(home, timeout, max_hops) -> HeliosClient of `kind` over `nodes` (name -> (host, port))."""
    if kind not in KINDS:
        raise ValueError(f"heliosdb has no {kind!r} client; it offers {', '.join(KINDS)}")

    def connect(home: str, timeout: float = 1.0, max_hops: int = 3) -> HeliosClient:
        return HeliosClient(kind, nodes, home, timeout, max_hops)
    return connect
