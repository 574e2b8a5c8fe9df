"""Wire formats: client requests (validated) and peer Raft messages as JSON lines
(layer: emulator shell). docs/protocol.md documents both for any client in any language.

A connection's first line decides what it is: `{"hello": "peer", "from": ID,
"cluster": CLUSTER_ID}` makes it a peer connection carrying Raft messages one per
line; anything else is a client request, and the connection stays a client one.
"""

from __future__ import annotations

import base64
import json
import numbers

from .errors import NodeError
from .raft._types import Entry, Message, MsgType, Snapshot

# op -> required fields; writes go through the log, the rest are served locally.
REQUEST_FIELDS: dict[str, tuple[str, ...]] = {
    "get": ("key",),
    "put": ("key", "value"),
    "cas": ("key", "from", "to"),
    "append": ("key", "value"),
    "status": (),
    "set_clock_offset": ("offset_ms",),
    # backups (emulator.backup): further fields are checked there
    "backup": ("kind",),
    "list": (),
    "verify": (),
    "archive_flush": (),
    "load": ("bytes",),
}
WRITE_OPS = frozenset({"put", "cas", "append"})


def parse_request(line: bytes) -> dict:
    """Decode and validate one request line; raise NodeError(bad_request/unknown_op)
    whose reply echoes `id` when it could be read."""
    try:
        req = json.loads(line)
    except ValueError as e:
        raise NodeError("bad_request", f"request is not valid JSON ({e}); send one JSON "
                        f"object per line") from None
    if not isinstance(req, dict):
        raise NodeError("bad_request", "request must be a JSON object with an `op` field")
    rid = {"id": req["id"]} if "id" in req else {}
    op = req.get("op")
    if op not in REQUEST_FIELDS:
        raise NodeError("unknown_op", f"op {op!r} is not one of {sorted(REQUEST_FIELDS)}", **rid)
    for f in REQUEST_FIELDS[op]:
        if f not in req:
            raise NodeError("bad_request", f"op {op!r} needs field {f!r}", **rid)
    _check_types(req, rid)
    return req


def _check_types(req: dict, rid: dict) -> None:
    if "key" in req and (isinstance(req["key"], bool) or not isinstance(req["key"], (str, int))):
        raise NodeError("bad_request", f"field 'key' must be a string or an integer, got "
                        f"{req['key']!r}", **rid)
    if req["op"] == "set_clock_offset":
        v = req["offset_ms"]
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise NodeError("bad_request", f"field 'offset_ms' must be a number, got {v!r}", **rid)
    if "local" in req and not isinstance(req["local"], bool):
        raise NodeError("bad_request", f"field 'local' must be true or false, got "
                        f"{req['local']!r}", **rid)


def command(req: dict, rid: str) -> bytes:
    """The log entry payload for a write request, tagged with a unique request id."""
    cmd = {"rid": rid, **{k: req[k] for k in ("op", *REQUEST_FIELDS[req["op"]])}}
    return json.dumps(cmd, separators=(",", ":")).encode()


def encode_line(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


# ---- peer messages ----------------------------------------------------------------


def _b64(data: bytes | None):
    return None if data is None else base64.b64encode(data).decode()


def _unb64(s):
    return None if s is None else base64.b64decode(s)


def message_to_json(m: Message) -> dict:
    d = {"t": m.type.value, "s": m.src, "d": m.dst, "term": m.term}
    for key, val, default in (("lt", m.log_term, 0), ("i", m.index, 0), ("c", m.commit, 0),
                              ("r", m.reject, False), ("ctx", m.context, 0),
                              ("rh", m.reject_hint, 0)):
        if val != default:
            d[key] = val
    if m.entries:
        d["e"] = [[e.term, e.index, _b64(e.data)] for e in m.entries]
    if m.snapshot is not None:
        s = m.snapshot
        d["snap"] = [s.index, s.term, _b64(s.data)]
    return d


def message_from_json(d: dict) -> Message:
    snap = d.get("snap")
    return Message(
        type=MsgType(d["t"]), src=d["s"], dst=d["d"], term=d["term"],
        log_term=d.get("lt", 0), index=d.get("i", 0), commit=d.get("c", 0),
        reject=d.get("r", False), context=d.get("ctx", 0), reject_hint=d.get("rh", 0),
        entries=tuple(Entry(term=t, index=i, data=_unb64(x)) for t, i, x in d.get("e", ())),
        snapshot=None if snap is None else Snapshot(index=snap[0], term=snap[1],
                                                    data=_unb64(snap[2])))
