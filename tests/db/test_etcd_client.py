"""The etcd client against a real one-member etcd, and against hostile HTTP servers
(layer: tests). Register read/write/cas and set add/read map onto etcd's JSON gateway;
a failed comparison is fail; refused connections before sending are fail (or the next
node); anything after sending that is not a reply is info for writes and fail for reads;
nothing raises."""

import asyncio
import time

import pytest
from etcd_ports import free_port

from harness.db import db_class
from harness.db.etcd import Etcd, status_fields
from harness.db.etcd_client import EtcdClient, classify, prefix_end

TIMEOUT = 0.5


def client(etcd, kind="register", **kw):
    return EtcdClient(kind, {"n1": etcd}, "n1", timeout=2.0, **kw)


async def ops(c, *items):
    try:
        return [await c.invoke(op) for op in items]
    finally:
        await c.close()


def test_registry_names_etcd_and_its_capabilities():
    cls = db_class("etcd")
    assert cls is Etcd
    assert cls.capabilities == {"kill", "pause", "local-reads"}
    assert "vDSO" in cls.lacks["clock"]
    assert {"clock", "disk", "backup", "incremental-backup", "pitr"} <= set(cls.lacks)


def test_register_read_write_cas(etcd, run):
    out = run(ops(client(etcd), {"f": "read", "key": "r1", "value": None},
                  {"f": "cas", "key": "r1", "value": [None, 1]},
                  {"f": "cas", "key": "r1", "value": [None, 2]},
                  {"f": "write", "key": "r1", "value": 3},
                  {"f": "cas", "key": "r1", "value": [1, 4]},
                  {"f": "cas", "key": "r1", "value": [3, 5]},
                  {"f": "read", "key": "r1", "value": None}))
    assert [(o.type, o.value) for o in out] == [
        ("ok", None), ("ok", [None, 1]), ("fail", None), ("ok", 3), ("fail", None),
        ("ok", [3, 5]), ("ok", 5)]
    assert out[2].error == "compare failed" and out[4].error == "compare failed"
    writes = [o for o in out if o.type == "ok" and o.lsn is not None]
    assert [o.lsn for o in writes] == sorted({o.lsn for o in writes}), "revisions increase"
    assert all(o.node is None for o in writes), "writes are not attributed to a member"
    assert out[-1].node == "n1" and out[-1].lsn is None and out[-1].term >= 1


def test_serializable_and_local_reads_answer(etcd, run):
    out = run(ops(client(etcd, serializable=True), {"f": "write", "key": "r2", "value": 7},
                  {"f": "read", "key": "r2", "value": None}))
    assert [(o.type, o.value) for o in out] == [("ok", 7), ("ok", 7)]

    async def local():
        c = client(etcd)
        try:
            return await c.invoke({"f": "read", "key": "r2", "value": None}, local=True)
        finally:
            await c.close()
    assert run(local()).value == 7


def test_set_add_and_read_sorted(etcd, run):
    adds = [{"f": "add", "key": "s9", "value": v} for v in (10, 2, 33, 1)]
    out = run(ops(client(etcd, "set"), *adds, {"f": "read", "key": "s9", "value": None},
                  {"f": "read", "key": "s", "value": None}))
    assert [o.type for o in out] == ["ok"] * 6
    assert out[4].value == [1, 2, 10, 33]
    assert out[5].value == []     # prefix "s/" does not match "s9/..."
    assert prefix_end("s9/") == "s90"


def test_refused_connection_is_fail_or_next_node(etcd, run):
    nodes = {"n0": ("127.0.0.1", free_port()), "n1": etcd}
    op = {"f": "write", "key": "r3", "value": 1}
    alone = EtcdClient("register", nodes, "n0", timeout=2.0, max_hops=0)
    out = run(ops(alone, op))[0]
    assert out.type == "fail" and "connect" in out.error
    hop = EtcdClient("register", nodes, "n0", timeout=2.0, max_hops=2)
    out = run(ops(hop, op))[0]
    assert (out.type, out.hops, hop.home) == ("ok", 1, "n1")
    local = EtcdClient("register", nodes, "n0", timeout=2.0, max_hops=2)
    out = run(ops_local(local, {"f": "read", "key": "r3", "value": None}))
    assert out.type == "fail", "a local read never goes to another node"


async def ops_local(c, op):
    try:
        return await c.invoke(op, local=True)
    finally:
        await c.close()


def test_status_names_the_leader(etcd, run):
    db = Etcd([_host("n1", etcd[0])])

    async def status():
        db_status = await db.status(db.hosts[0], 2.0)
        await db.close()
        return db_status
    db.client_port = etcd[1]
    s = run(status())
    assert (s["role"], s["leader"], s["node"]) == ("leader", "n1", "n1")
    assert s["term"] >= 2 and s["commit"] >= s["applied"] >= 1
    assert db.describe() == {"name": "etcd", "election_timeout_ms": 1000, "heartbeat_ms": 100,
                             "pre_vote": False, "serializable_reads": False}


def test_status_fields_roles_leaders_and_garbage():
    raft = {"id": "5", "term": 9, "lead": "0", "raftState": "StatePreCandidate", "commit": 4,
            "applied": 3}
    assert status_fields("n2", raft, {}) == {"ok": True, "node": "n2", "role": "pre_candidate",
                                             "term": 9, "leader": None, "commit": 4,
                                             "applied": 3}
    follower = status_fields("n2", {**raft, "raftState": "StateFollower", "lead": "1f"},
                             {"31": "n3"})
    assert (follower["role"], follower["leader"]) == ("follower", "n3")
    unknown = status_fields("n2", {**raft, "raftState": "StateFollower", "lead": "1f"}, {})
    assert unknown["leader"] == "member-1f"
    leader = status_fields("n2", {**raft, "raftState": "StateLeader", "lead": "5"}, {})
    assert (leader["role"], leader["leader"]) == ("leader", "n2")
    for junk in (None, [], {**raft, "raftState": "Boss"}, {**raft, "term": "9"},
                 {**raft, "lead": "zz"}, {**raft, "commit": True}):
        assert status_fields("n2", junk, {}) is None, junk


def test_error_codes_definite_or_not():
    assert classify(200, {"header": {}}) == ("ok", None)
    assert classify(400, {"error": "bad", "code": 3})[0] == "fail"
    assert classify(503, {"error": "etcdserver: request timed out", "code": 14})[0] == "info"
    assert classify(500, {"error": "x", "code": "14"})[0] == "info"
    assert classify(200, ["not", "an", "object"])[0] == "info"
    assert classify(200, {"kvs": []})[0] == "info", "an etcd reply always has a header"


def test_election_timeout_must_be_5_heartbeats():
    from harness.errors import BadInput
    with pytest.raises(BadInput, match="at least 5 x heartbeat_ms"):
        Etcd([], election_timeout_ms=400, heartbeat_ms=100)


# ---- hostile servers --------------------------------------------------------------------

def _reply(body: bytes, status: int = 200) -> bytes:
    return b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)


GARBAGE = {
    "not_http": b"SSH-2.0-OpenSSH\r\n",
    "bad_json": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{nope",
    "json_array": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",
    "short_body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
    "no_length": b"HTTP/1.1 200 OK\r\n\r\n{}",
    "huge_length": b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n",
    "bad_chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "bad_base64": _reply(b'{"kvs":[{"key":"!!","value":"!!!!"}]}'),
    "not_int": _reply(b'{"kvs":[{"key":"ay94","value":"eA=="}]}'),     # "k/x" = "x"
    "two_kvs": _reply(b'{"kvs":[{"key":"ay8x","value":"MQ=="},{"key":"azI=","value":"Mg=="}]}'),
    "error_unknown_code": _reply(b'{"error":"boom","code":2}', 500),
    "close": b"",
    "silent": None,
}


async def hostile(reply: bytes | None):
    async def serve(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        if reply is None:
            await asyncio.sleep(10)
        writer.write(reply)
        await writer.drain()
        writer.close()
    return await asyncio.start_server(serve, "127.0.0.1", 0)


@pytest.mark.parametrize("name", sorted(GARBAGE))
@pytest.mark.parametrize("f", ["read", "write", "cas", "add", "set-read"])
def test_garbage_is_info_or_fail_never_an_exception(name, f, run):
    async def go():
        server = await hostile(GARBAGE[name])
        port = server.sockets[0].getsockname()[1]
        kind = "set" if f in ("add", "set-read") else "register"
        op = {"read": {"f": "read", "value": None}, "write": {"f": "write", "value": 1},
              "cas": {"f": "cas", "value": [1, 2]}, "add": {"f": "add", "value": 1},
              "set-read": {"f": "read", "value": None}}[f]
        c = EtcdClient(kind, {"n1": ("127.0.0.1", port)}, "n1", timeout=TIMEOUT)
        started = time.monotonic()
        try:
            return await c.invoke({**op, "key": "k"}), time.monotonic() - started
        finally:
            await c.close()
            server.close()
    out, took = run(go())
    is_read = f in ("read", "set-read")
    assert out.type == ("fail" if is_read else "info"), out
    assert out.error and out.value is None
    assert took < TIMEOUT + 0.5


def _host(name, address):
    from harness.control import Host
    return Host(name=name, address=address, ssh_host=address, workdir="/tmp/none")
