"""docs/extending.md's worked example, exercised: a counter workload and a counter checker
added as one file plus one registry line each, run over real TCP against a fake node, and
judged by harness.analysis exactly as a case's checkers are. The checker accepts the
honest node and rejects one that under-counts."""

import asyncio
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "workloads"))

import checker  # noqa: E402
import workloads  # noqa: E402
from fakenode import FakeNode  # noqa: E402
from harness import analysis  # noqa: E402
from harness.cases import parse_case  # noqa: E402
from harness.db.heliosdb_client import connector  # noqa: E402
from harness.errors import BadInput  # noqa: E402
from tests.extension_example import counter_checker  # noqa: E402
from tests.extension_example.counter_workload import CounterWorkload  # noqa: E402

CASE = {"id": "EX-COUNTER", "workloads": [{"name": "counter", "concurrency": 4}],
        "nemesis": {"timeline": [{"at": 1, "fault": "kill", "targets": "one", "duration": 1}]},
        "checkers": ["counter", "perf"]}


@pytest.fixture
def registered(monkeypatch):
    """The two registry lines of the example, undone after the test."""
    monkeypatch.setitem(workloads.WORKLOADS, "counter", CounterWorkload)
    monkeypatch.setitem(checker.CHECKERS, "counter", counter_checker.CHECKER)


def test_the_case_is_refused_until_the_extension_is_registered():
    with pytest.raises(BadInput, match="counter"):
        parse_case(dict(CASE), "example")


def drive(node) -> list[dict]:
    events, t0 = [], time.monotonic_ns()

    async def main():
        addr = await node.start()
        try:
            load = CounterWorkload()
            await workloads.run_workload(
                load, [node.name], connector({node.name: addr}, load.kind), 4, 300, 0.6,
                lambda e: events.append({**e, "workload": "counter"}),
                lambda: time.monotonic_ns() - t0, seed=3, op_timeout=0.3)
        finally:
            await node.stop()
    asyncio.run(asyncio.wait_for(main(), 30))
    return events


def judge(events):
    case = parse_case(dict(CASE), "example")
    return analysis.run_checks(case, events, checker.RunContext(nodes=["n1"]))


def test_an_honest_node_passes_the_counter_checker(registered):
    checks = judge(drive(FakeNode(drop_every=11)))
    assert checks["counter"]["valid"] is True, checks["counter"]
    assert checks["counter"]["reads"] > 10 and checks["perf"]["valid"] is True


def test_a_node_that_undercounts_fails_it(registered):
    def forgetful(node, req):
        reply = node.handle(req)
        if req["op"] == "get" and reply.get("value"):
            reply["value"] = reply["value"][:-2]    # the two newest adds vanish from reads
        return reply
    checks = judge(drive(FakeNode(script=forgetful)))
    result = checks["counter"]
    assert result["valid"] is False
    assert "expected between" in result["errors"][0] and "counted" in result["summary"] + \
        result["errors"][0]
