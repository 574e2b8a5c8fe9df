"""The heliosdb wire client over real TCP: outcome classification, redirects, timeouts (STYLE.md 5)."""

import asyncio
import socket

from fakenode import FakeNode

from harness.db.heliosdb_client import HeliosClient, WireClient as Client


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def with_nodes(nodes, body):
    addrs = {}
    try:
        for node in nodes:
            addrs[node.name] = await node.start()
        return await body(addrs)
    finally:
        for node in nodes:
            if node.server is not None:
                await node.stop()


def test_ok_reply_carries_node_lsn_and_term():
    async def body(addrs):
        c = HeliosClient("register", addrs, "n1")
        out = await c.invoke({"f": "write", "key": "k", "value": 3})
        await c.close()
        return out
    out = run(with_nodes([FakeNode()], body))
    assert out.type == "ok" and out.fields() == {"node": "n1", "lsn": 1, "term": 1}
    assert out.value == 3


def redirect_to(target):
    return lambda node, req: {"ok": False, "error": "not_leader", "definite": True,
                              "leader": target, "leader_addr": None}


def test_not_leader_is_followed_to_the_leader():
    async def body(addrs):
        c = Client(addrs, "n1")
        out = await c.call({"op": "put", "key": "k", "value": 3})
        again = await c.call({"op": "put", "key": "k", "value": 4})
        await c.close()
        return out, again
    out, again = run(with_nodes([FakeNode("n1", script=redirect_to("n2")), FakeNode("n2")], body))
    assert (out.type, out.hops, out.reply["node"]) == ("ok", 1, "n2")
    assert (again.type, again.hops) == ("ok", 0)   # it remembers the leader


def test_redirect_loops_are_bounded_and_fail():
    nodes = [FakeNode("n1", script=redirect_to("n2")), FakeNode("n2", script=redirect_to("n1"))]

    async def body(addrs):
        c = Client(addrs, "n1", max_hops=3)
        out = await c.call({"op": "put", "key": "k", "value": 3})
        await c.close()
        return out
    out = run(with_nodes(nodes, body))
    assert (out.type, out.hops) == ("fail", 3)
    assert out.error.startswith("not_leader")
    assert len(nodes[0].requests) + len(nodes[1].requests) == 4


def test_definite_error_is_fail_and_indefinite_is_info():
    def script(node, req):
        code, definite = (("precondition_failed", True) if req["op"] == "cas"
                          else ("timeout", False))
        return {"ok": False, "error": code, "definite": definite, "message": "m"}

    async def body(addrs):
        c = Client(addrs, "n1")
        outs = [await c.call({"op": "cas", "key": "k", "from": 1, "to": 2}),
                await c.call({"op": "put", "key": "k", "value": 1}),
                await c.call({"op": "get", "key": "k"})]
        await c.close()
        return outs
    cas, put, get = run(with_nodes([FakeNode(script=script)], body))
    assert (cas.type, cas.error) == ("fail", "precondition_failed: m")
    assert (put.type, put.error) == ("info", "timeout: m")
    assert get.type == "fail"   # a read never has an effect: never info


def test_no_reply_is_info_for_writes_and_fail_for_reads():
    async def body(addrs):
        c = Client(addrs, "n1", timeout=0.3)
        outs = [await c.call({"op": "put", "key": "k", "value": 1}),
                await c.call({"op": "get", "key": "k"})]
        await c.close()
        return outs
    put, get = run(with_nodes([FakeNode(script=lambda n, r: None)], body))
    assert (put.type, put.error) == ("info", "timeout after 0.3s")
    assert get.type == "fail"


def test_a_connection_closed_before_the_reply_is_info():
    async def body(addrs):
        c = Client(addrs, "n1")
        out = await c.call({"op": "append", "key": "k", "value": 1})
        await c.close()
        return out
    out = run(with_nodes([FakeNode(script=lambda n, r: "close")], body))
    assert out.type == "info" and "EOFError" in out.error


def test_refused_connection_tries_the_next_node_then_fails():
    async def body(addrs):
        dead = {"n0": ("127.0.0.1", free_port())}
        c = Client({**dead, **addrs}, "n0")
        ok = await c.call({"op": "put", "key": "k", "value": 1})
        alone = Client(dead, "n0", max_hops=2)
        fail = await alone.call({"op": "put", "key": "k", "value": 1})
        await c.close()
        return ok, fail
    ok, fail = run(with_nodes([FakeNode("n1")], body))
    assert (ok.type, ok.hops, ok.reply["node"]) == ("ok", 1, "n1")
    assert fail.type == "fail" and "connect to 127.0.0.1" in fail.error
