"""Clients survive any reply (issue 11): a fake node over real TCP that answers garbage,
half-closes, or accepts and never answers. Every op ends as info (writes: the node may
have acted) or fail (reads: no effect), with the error, within the client's timeout;
nothing raises."""

import asyncio
import json
import time

import pytest

from harness.db.heliosdb_client import HeliosClient

TIMEOUT = 0.5


class Hostile:
    """A TCP server that reads one request line and then does `behaviour`."""

    def __init__(self, behaviour):
        self.behaviour, self.server, self.conns = behaviour, None, []

    async def start(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[:2]

    async def stop(self):
        for w in self.conns:
            w.close()
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader, writer):
        self.conns.append(writer)
        line = await reader.readline()
        if not line:
            return
        req = json.loads(line)
        await self.behaviour(req, writer)


def reply_bytes(data):
    async def act(req, writer):
        writer.write(data if isinstance(data, bytes) else data(req))
        await writer.drain()
    return act


async def half_close(req, writer):
    writer.write_eof()          # FIN after the request: the reply never comes


async def close_at_once(req, writer):
    writer.close()


async def never_answer(req, writer):
    await asyncio.sleep(3600)


def ok_with(value):
    return reply_bytes(lambda req: json.dumps({"id": req["id"], "ok": True, "value": value,
                                               "node": "n1"}).encode() + b"\n")


BEHAVIOURS = {
    "garbage": reply_bytes(b"\x00\x01 not json at all\n"),
    "not-utf8": reply_bytes(b"\xff\xfe\xfd\n"),
    "json-list": reply_bytes(b"[1, 2, 3]\n"),
    "nan": reply_bytes(lambda req: b'{"id": %d, "ok": true, "value": NaN}\n' % req["id"]),
    "deep-nesting": reply_bytes(b"[" * 100_000 + b"\n"),
    "huge-line": reply_bytes(b'{"x": "' + b"a" * (3 << 20) + b'"}\n'),
    "half-close": half_close,
    "close": close_at_once,
    "never-answers": never_answer,
    "wrong-id": reply_bytes(b'{"id": 999999, "ok": true}\n'),
    "ok-garbage-value": ok_with({"not": "a register"}),
    "ok-string-value": ok_with("seventeen"),
}


def invoke(behaviour, kind, op):
    async def main():
        node = Hostile(behaviour)
        addr = await node.start()
        client = HeliosClient(kind, {"n1": addr}, "n1", timeout=TIMEOUT, max_hops=0)
        try:
            started = time.monotonic()
            out = await client.invoke(op)
            return out, time.monotonic() - started
        finally:
            await client.close()
            await node.stop()
    return asyncio.run(asyncio.wait_for(main(), 10))


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_a_write_to_a_hostile_node_is_info_with_the_error(name):
    out, elapsed = invoke(BEHAVIOURS[name], "register", {"f": "write", "key": "k", "value": 7})
    if name.startswith("ok-"):       # a write acknowledged: the value read is not involved
        assert out.type == "ok"
        return
    assert out.type == "info", out
    assert out.error and elapsed < TIMEOUT + 1.0


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_a_read_from_a_hostile_node_is_fail_with_the_error(name):
    out, elapsed = invoke(BEHAVIOURS[name], "register", {"f": "read", "key": "k", "value": None})
    assert out.type == "fail", out
    assert out.error and out.value is None and elapsed < TIMEOUT + 1.0


def test_a_set_read_of_something_not_a_list_is_fail_naming_it():
    out, _ = invoke(ok_with([1, "two"]), "set", {"f": "read", "key": "s", "value": None})
    assert out.type == "fail" and "list of integers" in out.error


def test_a_well_formed_reply_is_still_ok():
    """The same harness on an honest node: the hostile cases are not failing by accident."""
    out, _ = invoke(ok_with(5), "register", {"f": "read", "key": "k", "value": None})
    assert (out.type, out.value, out.node) == ("ok", 5, "n1")
