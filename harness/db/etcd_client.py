"""Clients for etcd's v3 API over its JSON gateway (layer: harness, the etcd adapter).

Why the JSON gateway and not gRPC: etcd 3.4 serves the same KV, maintenance and
cluster RPCs as POST /v3/... with JSON bodies on its client port; talking to it
needs only an HTTP/1.1 client (harness.db._http, stdlib asyncio), where gRPC
would need grpcio plus generated etcd protobuf stubs. Keys and values are base64.

`EtcdClient` maps a workload's abstract ops for one data model:
- "register": read = range of the key (linearizable; serializable when the
  adapter runs with serializable_reads), write = put, cas [expected, new] = txn
  comparing the key's VALUE with expected (expected null: VERSION == 0) and
  putting new on success; a failed comparison is `fail`.
- "set": add = put of the unique key "<key>/<value>"; read = range over the
  prefix "<key>/", the ints sorted.
- `local=True` (final per-node reads): a serializable range answered by that
  node alone, no other node tried.

Outcomes (STYLE.md 5): a connection refused before sending -> the next node
when following (etcd members forward to the leader themselves, so there is no
redirect to follow), else `fail`; a timeout, reset or EOF after sending ->
`info` (a read: `fail`); an etcd error reply -> `fail` when the code says the
request was rejected before it was proposed (DEFINITE_CODES), else `info`
(reads `fail`); any reply we cannot understand -> `info` (reads `fail`).
Nothing the server does makes `invoke` raise.
"""

from __future__ import annotations

import asyncio
import base64

from harness.db._http import BadReply, HttpConnection, NotSent
from workloads import Outcome

# gRPC codes an etcd reply can carry that mean "rejected, nothing was proposed":
# InvalidArgument, NotFound, AlreadyExists, PermissionDenied, ResourceExhausted
# (too many requests), FailedPrecondition, Unimplemented, Unauthenticated.
DEFINITE_CODES = frozenset({3, 5, 6, 7, 8, 9, 12, 16})


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(raw) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"expected a base64 string, got {raw!r:.60}")
    return base64.b64decode(raw, validate=True).decode()


def prefix_end(prefix: str) -> str:
    """The range_end that makes a range cover every key starting with prefix (ASCII)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _int(text: str) -> int:
    if not text.lstrip("-").isdigit():
        raise ValueError(f"not an integer: {text!r:.60}")
    return int(text)


# ---- requests: (path, body, is_read) per abstract op ------------------------------------

def register_request(op: dict, serializable: bool) -> tuple[str, dict, bool]:
    key = b64(op["key"])
    if op["f"] == "read":
        return "/v3/kv/range", {"key": key, **({"serializable": True} if serializable else {})}, True
    if op["f"] == "write":
        return "/v3/kv/put", {"key": key, "value": b64(str(op["value"]))}, False
    if op["f"] == "cas":
        expected, new = op["value"]
        compare = ({"key": key, "target": "VERSION", "result": "EQUAL", "version": "0"}
                   if expected is None else
                   {"key": key, "target": "VALUE", "result": "EQUAL", "value": b64(str(expected))})
        return "/v3/kv/txn", {"compare": [compare], "success": [
            {"requestPut": {"key": key, "value": b64(str(new))}}]}, False
    raise ValueError(f"register client: unknown op f={op['f']!r}")


def set_request(op: dict, serializable: bool) -> tuple[str, dict, bool]:
    prefix = f"{op['key']}/"
    if op["f"] == "read":
        return "/v3/kv/range", {"key": b64(prefix), "range_end": b64(prefix_end(prefix)),
                                **({"serializable": True} if serializable else {})}, True
    if op["f"] == "add":
        return "/v3/kv/put", {"key": b64(f"{prefix}{op['value']}"),
                              "value": b64(str(op["value"]))}, False
    raise ValueError(f"set client: unknown op f={op['f']!r}")


# ---- replies -> values ----------------------------------------------------------------------

def register_value(op: dict, reply: dict):
    kvs = reply.get("kvs") or []
    if not isinstance(kvs, list) or len(kvs) > 1:
        raise ValueError(f"a register range holds at most one kv, got {kvs!r:.80}")
    return _int(unb64(kvs[0].get("value", ""))) if kvs else None


def set_value(op: dict, reply: dict) -> list:
    kvs = reply.get("kvs") or []
    if not isinstance(kvs, list):
        raise ValueError(f"kvs is not a list: {kvs!r:.80}")
    prefix = f"{op['key']}/"
    out = []
    for kv in kvs:
        key = unb64(kv.get("key") if isinstance(kv, dict) else None)
        if not key.startswith(prefix):
            raise ValueError(f"range over {prefix!r} returned key {key!r:.60}")
        out.append(_int(key[len(prefix):]))
    return sorted(out)


KINDS = {"register": (register_request, register_value), "set": (set_request, set_value)}


def _header_int(reply: dict, field: str) -> int | None:
    header = reply.get("header") if isinstance(reply, dict) else None
    raw = header.get(field) if isinstance(header, dict) else None
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


def classify(status: int, reply) -> tuple[str, str | None]:
    """(type, error) of one HTTP reply to a request that was sent: ok / fail / info."""
    if not isinstance(reply, dict):
        return "info", f"HTTP {status}: reply is not a JSON object: {reply!r:.80}"
    if status == 200 and "error" not in reply and "code" not in reply:
        if not isinstance(reply.get("header"), dict):   # every etcd response has one
            return "info", f"HTTP 200 without an etcd response header: {reply!r:.80}"
        return "ok", None
    code = reply.get("code")
    text = f"HTTP {status} code {code}: {reply.get('message') or reply.get('error') or ''}"
    definite = isinstance(code, int) and code in DEFINITE_CODES
    return ("fail" if definite else "info"), text.strip()


class EtcdClient:
    """`workloads.Client` for one data model over etcd's JSON gateway.

    nodes: name -> (address, client port); home: the node tried first;
    serializable: register reads are serializable (stale reads possible)."""

    def __init__(self, kind: str, nodes: dict, home: str, timeout: float = 1.0,
                 max_hops: int = 3, serializable: bool = False):
        self.kind = kind
        self.request, self.parse = KINDS[kind]
        self.nodes, self.home = dict(nodes), home
        self.timeout, self.max_hops = timeout, max_hops
        self.serializable = serializable and kind == "register"
        self._conns: dict[str, HttpConnection] = {}

    async def invoke(self, op: dict, *, follow: bool = True, local: bool = False) -> Outcome:
        path, body, is_read = self.request(op, self.serializable or local)
        state = {"sent": False}
        try:
            async with asyncio.timeout(self.timeout):
                out = await self._route(path, body, is_read, follow and not local, state)
        except TimeoutError:
            out = Outcome("info" if state["sent"] else "fail", None,
                          f"timeout after {self.timeout}s", node=state.get("node"))
        if out.type == "info" and is_read:
            out.type = "fail"      # a read has no effect
        if out.type == "ok" and is_read:
            return self._read_value(op, out, state["reply"])
        if out.type == "ok":
            out.value = op["value"]
        return out

    def _read_value(self, op, out: Outcome, reply) -> Outcome:
        try:
            out.value = self.parse(op, reply)
        except (ValueError, TypeError, AttributeError, UnicodeError) as exc:
            return Outcome("fail", None, f"garbage reply: {exc}", node=out.node, hops=out.hops)
        out.lsn = None      # a read's revision is not a log position of the read
        return out

    async def _route(self, path, body, is_read, follow, state) -> Outcome:
        target, hops = self.home, 0
        while True:
            state["node"] = target
            try:
                status, reply = await self._post(target, path, body, state)
            except NotSent as exc:
                if not follow or hops >= self.max_hops:
                    return Outcome("fail", None, f"{target}: {exc}", node=target, hops=hops)
                target, hops = self._next(target), hops + 1
                continue
            except (OSError, EOFError, BadReply) as exc:
                return Outcome("info", None, f"{target}: {type(exc).__name__}: {exc}",
                               node=target, hops=hops)
            state["reply"] = reply
            kind, error = classify(status, reply)
            if kind == "ok" and path == "/v3/kv/txn" and reply.get("succeeded") is not True:
                kind, error = "fail", "compare failed"
            if kind != "ok":
                return Outcome(kind, None, error, node=target, hops=hops)
            self.home = target
            # A write is acknowledged through whichever member was asked (members forward
            # proposals to the leader), so its `node` would not name the node that accepted
            # it, which the split-brain checker takes it to be: writes carry term and
            # revision (as lsn) only; reads keep the member that served them.
            return Outcome(kind, None, None, node=target if is_read else None,
                           lsn=_header_int(reply, "revision"),
                           term=_header_int(reply, "raft_term"), hops=hops)

    async def _post(self, target, path, body, state):
        conn = self._conns.get(target)
        if conn is None:
            conn = self._conns[target] = HttpConnection(*self.nodes[target])
        await conn.connect()      # NotSent here: nothing left the client
        state["sent"] = True
        return await conn.post(path, body)

    def _next(self, current: str) -> str:
        names = sorted(self.nodes)
        return names[(names.index(current) + 1) % len(names)]

    async def close(self) -> None:
        for conn in self._conns.values():
            await conn.aclose()
        self._conns.clear()
