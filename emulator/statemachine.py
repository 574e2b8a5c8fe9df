"""The replicated key-value state machine: get, put, cas, append (layer: emulator shell).

Commands are the JSON objects carried in log entries (see `emulator.protocol`);
`apply` is deterministic, so every replica that applies the same log holds the
same map. Keys are JSON strings or integers (1 and "1" are different keys);
values are any JSON. `append` treats a missing key as the empty list.

`digest()` fingerprints the contents (`StateDigest` of the sorted-key dump, the
same bytes a snapshot and a full backup hold); it is cached until the next write
because `status` reports it and the harness polls status every few tens of
milliseconds.
"""

from __future__ import annotations

import json

import blake3

from .errors import NodeError


def _k(key) -> str:
    return json.dumps(key)


_encode = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def dump_items(items: dict[str, bytes]) -> bytes:
    """The JSON object of `items` (see `KV.items`), keys sorted: `json.dumps(data,
    separators=(",", ":"), sort_keys=True).encode()` byte for byte, at the speed of a join."""
    return b"{" + b",".join([items[k] for k in sorted(items)]) + b"}"


def _parse_dump(raw: bytes) -> tuple[dict, dict[str, bytes]]:
    """Parse a `dump()` taking each item's fragment as the bytes it occupies, instead of
    re-encoding every value (a dump is ASCII: str and bytes offsets agree). Raises
    ValueError if `raw` is not a compact dump."""
    if not raw:
        return {}, {}
    text, decode = raw.decode("ascii"), json.JSONDecoder().raw_decode
    data, items, pos, end = {}, {}, 1, len(text) - 1
    if text[0] != "{" or text[end] != "}":
        raise ValueError("not a JSON object")
    while pos < end:
        key, colon = decode(text, pos)
        if text[colon] != ":":
            raise ValueError("not compact")
        data[key], stop = decode(text, colon + 1)
        items[key] = raw[pos:stop]
        if stop < end and text[stop] != ",":
            raise ValueError("not compact")
        pos = stop + 1
    return data, items


DIGEST_PIECE = 4 << 20


class StateDigest:
    """The state digest (`status`, a full backup's manifest, `restore`; docs/protocol.md):
    16 hex digits of BLAKE3 over the concatenated BLAKE3s (32 bytes each) of the dump's
    consecutive DIGEST_PIECE-byte pieces (the last may be shorter; an empty dump is one
    empty piece). Two levels so that a full backup cut into DIGEST_PIECE-byte chunks has
    it from its chunk hashes: each byte is hashed once, for the chunk and the digest.
    The harness computes the same definition with its own code (harness/backup_verify.py)."""

    def __init__(self):
        self.leaves: list[bytes] = []
        self.piece, self.filled = blake3.blake3(), 0

    def update(self, data) -> None:
        """The next bytes of the content, in any slices."""
        view = memoryview(data)
        while view:
            take = min(len(view), DIGEST_PIECE - self.filled)
            self.piece.update(view[:take])
            self.filled, view = self.filled + take, view[take:]
            if self.filled == DIGEST_PIECE:
                self.leaves.append(self.piece.digest())
                self.piece, self.filled = blake3.blake3(), 0

    def chunk(self, parts: list, leaf: bytes, last: bool) -> None:
        """The next chunk of the content, the buffers `parts`, whose BLAKE3 is `leaf`: taken
        as a piece's hash where the chunk is exactly a piece (no second hash), else hashed."""
        size = sum(len(p) for p in parts)
        if not self.filled and size and (size == DIGEST_PIECE or (last and size < DIGEST_PIECE)):
            self.leaves.append(leaf)
        else:
            for p in parts:
                self.update(p)

    def hexdigest(self) -> str:
        tail = [self.piece.digest()] if self.filled or not self.leaves else []
        return blake3.blake3(b"".join(self.leaves + tail)).hexdigest()[:16]


def state_digest(content) -> str:
    """`StateDigest` of `content` (bytes or a buffer such as an mmap)."""
    d = StateDigest()
    d.update(content)
    return d.hexdigest()


def dump_pieces(items: dict[str, bytes], block: int = 1 << 20):
    """`dump_items(items)` as byte strings of about `block` bytes (one join per block), to
    write and hash without building the whole dump: a full backup's writev and hash over
    a few large pieces are 1.3x faster than over two pieces per item (item, comma)."""
    keys, i = sorted(items), 0
    yield b"{"
    while i < len(keys):
        j, size = i, 0
        while j < len(keys) and size < block:
            size += len(items[keys[j]]) + 1
            j += 1
        yield (b"," if i else b"") + b",".join([items[k] for k in keys[i:j]])
        i = j
    yield b"}"


class KV:
    def __init__(self):
        self.data: dict[str, object] = {}
        # key -> its dump fragment '"key":value', kept up to date on every write so a
        # dump (snapshot, digest, full backup) is a join, not a JSON encoding of the map
        self.items: dict[str, bytes] = {}
        self._digest: str | None = None

    def _set(self, k: str, value, encoded: str | None = None) -> None:
        self.data[k] = value
        self.items[k] = f"{json.dumps(k)}:{_encode(value) if encoded is None else encoded}".encode()

    def apply(self, cmd: dict) -> dict:
        """Apply one committed command; returns the reply fields or raises NodeError
        (a definite error: the command was a no-op on every replica)."""
        self._digest = None
        return getattr(self, "_" + cmd["op"])(cmd, write=True)

    def digest(self) -> str:
        """`state_digest` of `dump()`: equal contents, equal digest."""
        if self._digest is None:
            self._digest = state_digest(self.dump())
        return self._digest

    def preview(self, cmd: dict) -> dict:
        """What `apply` would return on the current state, without changing it."""
        return getattr(self, "_" + cmd["op"])(cmd, write=False)

    def get(self, key):
        return self.data.get(_k(key))

    def _get(self, cmd: dict, write: bool) -> dict:
        return {"value": self.get(cmd["key"])}

    def _put(self, cmd: dict, write: bool) -> dict:
        if write:
            self._set(_k(cmd["key"]), cmd["value"])
        return {}

    def _cas(self, cmd: dict, write: bool) -> dict:
        cur = self.get(cmd["key"])
        if cur != cmd["from"]:
            raise NodeError("precondition_failed",
                            f"cas on key {cmd['key']!r}: current value is {cur!r}, "
                            f"expected {cmd['from']!r}", value=cur)
        if write:
            self._set(_k(cmd["key"]), cmd["to"])
        return {}

    def _append(self, cmd: dict, write: bool) -> dict:
        cur = self.get(cmd["key"])
        if cur is None:
            cur = []
        if not isinstance(cur, list):
            raise NodeError("wrong_type", f"append on key {cmd['key']!r}: it holds "
                            f"{type(cur).__name__} {cur!r}, not a list", value=cur)
        new = cur + [cmd["value"]]
        if write:
            self._set(_k(cmd["key"]), new)
        return {"value": new}

    def _load(self, cmd: dict, write: bool) -> dict:
        """Bulk fill (the `load` request): keys PREFIX+str(i) for i in [start, start+count),
        each set to `value_size` hex characters derived from blake3, the same on every replica."""
        size, start, count = cmd["value_size"], cmd["start"], cmd["count"]
        seed = f"{cmd['prefix']}|{start}|{count}|{size}".encode()
        pool = blake3.blake3(seed).digest(length=(count * size + 1) // 2).hex()
        if write:
            for n in range(count):
                value = pool[n * size:(n + 1) * size]  # hex: its JSON is itself in quotes
                self._set(_k(f"{cmd['prefix']}{start + n}"), value, f'"{value}"')
        return {}

    def dump(self) -> bytes:
        return dump_items(self.items)

    def load(self, data: bytes) -> None:
        """Replace the contents with a `dump()` (snapshot, full backup)."""
        try:
            self.data, self.items = _parse_dump(data)
        except (ValueError, IndexError):  # not our compact dump: parse and re-encode
            self.data = json.loads(data) if data else {}
            self.items = {k: f"{json.dumps(k)}:{_encode(v)}".encode()
                          for k, v in self.data.items()}
        self._digest = None
