"""The driver over real TCP against a fake single node: history shape, rate and time limits,
process retirement after info, and that the checkers judge what it records."""

import asyncio
import time

from fakenode import FakeNode

from checker import RunContext, check_linearizable, parse_events, run_check
from harness.db.heliosdb_client import connector
from workloads import RegisterWorkload, SetWorkload, run_workload


def drive(workload, node, concurrency=4, rate=400, duration=0.6, op_timeout=0.3, finals=False):
    events = []
    t0 = time.monotonic_ns()

    def clock():
        return time.monotonic_ns() - t0

    async def main():
        addr = await node.start()
        try:
            started = time.monotonic()
            connect = connector({node.name: addr}, workload.kind)
            counts = await run_workload(workload, [node.name], connect, concurrency, rate,
                                        duration, events.append, clock, seed=7,
                                        op_timeout=op_timeout)
            elapsed = time.monotonic() - started
            if finals:
                await workload.final_reads([node.name], connect, events.append, clock, timeout=1)
            return counts, elapsed
        finally:
            await node.stop()
    counts, elapsed = asyncio.run(asyncio.wait_for(main(), 30))
    return events, counts, elapsed


def test_register_history_is_well_formed_rate_limited_and_linearizable():
    events, counts, elapsed = drive(RegisterWorkload(keys=3), FakeNode(drop_every=9))
    history = parse_events(list(enumerate(events, 1)))
    ops = history.ops
    assert len(ops) == sum(counts.values()) and counts["ok"] > 50
    assert counts["info"] >= 1   # every 9th write is never answered
    assert 0.6 <= elapsed < 0.6 + 2 * 0.3 + 1
    assert len(ops) <= 400 * 0.6 + 4 + 1
    assert all(e["time"] >= 0 for e in events)
    assert [e["type"] for e in events].count("invoke") == len(ops)
    infos = [op for op in ops if op.type == "info"]
    for op in infos:   # a process that got info never invokes again
        assert not [o for o in ops if o.process == op.process and o.invoke_time > op.invoke_time]
    assert len({op.process for op in infos}) == len(infos)   # at most one info per process
    processes = {op.process for op in ops}
    assert 4 < len(processes) <= 4 + len(infos) and processes <= set(range(4 + len(infos)))
    oks = [op for op in ops if op.type == "ok"]
    assert all(op.extra["node"] == "n1" and op.extra["term"] == 1 for op in oks)
    assert {op.f for op in ops} == {"read", "write", "cas"}
    assert check_linearizable(history, "cas-register")["valid"] is True


def test_register_history_with_a_lying_node_is_not_linearizable():
    """The same pipeline catches a planted bug: reads return a stale value."""
    stale = {}

    def script(node, req):
        reply = node.handle(req)
        if req["op"] == "get" and reply["value"] is not None:
            reply["value"] = stale.setdefault(req["key"], reply["value"])
        return reply
    events, counts, _ = drive(RegisterWorkload(keys=2, weights=(0.5, 0.5, 0)),
                              FakeNode(script=script))
    history = parse_events(list(enumerate(events, 1)))
    assert check_linearizable(history, "cas-register")["valid"] is False


def test_set_workload_final_reads_feed_the_rpo_checker():
    events, counts, _ = drive(SetWorkload(keys=2), FakeNode(drop_every=7), finals=True)
    finals = [e for e in events if e["process"] == "final" and e["type"] == "ok"]
    assert {(e["mode"], e["key"]) for e in finals} == {
        ("local", "s0"), ("local", "s1"), ("linearizable", "s0"), ("linearizable", "s1")}
    assert all(e["node"] == "n1" for e in finals)
    r = run_check("rpo", events, RunContext(nodes=["n1"]))
    assert r["valid"] is True, r.get("errors")
    assert r["counts"]["acknowledged"] == counts["ok"] - sum(
        1 for e in events if e["type"] == "ok" and e["f"] == "read" and e["process"] != "final")
    assert r["counts"]["recovered"] == counts["info"]   # dropped replies were applied


def test_set_workload_catches_a_node_that_forgets_an_acked_add():
    events, counts, _ = drive(SetWorkload(keys=1), FakeNode(lose=True), finals=True)
    r = run_check("rpo", events, RunContext(nodes=["n1"]))
    assert r["valid"] is False
    [lost] = r["lost"]
    assert lost["missing_on"] == ["n1"] and lost["acked_by"] == "n1"
    assert r["targets"]["linearizable"]["valid"] is True


def test_bad_driver_arguments_are_rejected():
    import pytest
    with pytest.raises(ValueError, match="concurrency >= 1"):
        asyncio.run(run_workload(RegisterWorkload(), [], None, 0, 1, 1, print,
                                 time.monotonic_ns, 1))


def test_a_client_that_raises_records_info_and_the_run_goes_on():
    """A bug in a database's client must not end the run (issue 11): the op is info with
    the error, the process is retired, and later ops still run."""
    events = []
    calls = {"n": 0}

    class Flaky:
        home = "n1"

        async def invoke(self, op, follow=True, local=False):
            calls["n"] += 1
            if calls["n"] % 3 == 0:
                raise RuntimeError("client bug")
            from workloads import Outcome
            return Outcome("ok", op["value"] if op["f"] != "read" else None, node="n1")

        async def close(self):
            pass

    counts = asyncio.run(run_workload(SetWorkload(keys=1, read_ratio=0), ["n1"],
                                      lambda home, timeout=1, max_hops=3: Flaky(), 2, 200, 0.3,
                                      events.append, time.monotonic_ns, seed=1))
    infos = [e for e in events if e["type"] == "info"]
    assert counts["info"] == len(infos) >= 2 and counts["ok"] >= 2 * counts["info"] - 2
    assert all(e["error"] == "client error: RuntimeError: client bug" for e in infos)
