"""contested-election (nemesis/_together.py): its checks, and the cases where it must not
touch the cluster. Its effect on real nodes (two candidates in one term every time it
runs; two leaders with vote-twice) is asserted by tests/run/test_planted_bugs.py."""

import asyncio

import pytest

from harness.control import LocalRemote, local_host
from nemesis import FAULTS, BadSchedule, Ledger, Nemesis, NoTarget, from_case
from nemesis._together import contest_election

NODES = ["n1", "n2", "n3"]


def nemesis(tmp_path):
    events = []
    nem = Nemesis({n: LocalRemote(local_host(n)) for n in NODES}, Ledger(tmp_path),
                  record=events.append, clock=lambda: len(events))
    return nem, events


def leader(name):
    async def ask():
        return name
    return ask


@pytest.mark.parametrize("lead, down, why", [
    (None, set(), "no live leader"), ("n9", set(), "no live leader"),
    ("n1", {"n1"}, "no live leader"), ("n1", {"n2"}, "needs two live followers, has n3")])
def test_no_target_touches_nothing(tmp_path, lead, down, why):
    nem, events = nemesis(tmp_path)
    if down:
        nem.stopped["f0"] = set(down)
    with pytest.raises(NoTarget, match=why):
        asyncio.run(contest_election(nem, {}, leader(lead)))
    assert events == [] and nem.ledger.open_entries() == []


def test_schedule_checks_hold_and_needs_kill():
    assert FAULTS["contested-election"].needs == "kill"
    sch = from_case({"faults": [{"fault": "contested-election", "hold": 0.5}], "interval": 4,
                     "duration": 1.5}, NODES, seed=1, total=8)
    assert [(s.fault, s.params, s.duration) for s in sch.steps] == [
        ("contested-election", {"hold": 0.5}, 1.5)] * 2
    for bad in (0, -1, 11, float("nan"), "0.5", True):
        with pytest.raises(BadSchedule, match=r"nemesis.faults\[0\].hold"):
            from_case({"faults": [{"fault": "contested-election", "hold": bad}]}, NODES,
                      seed=1, total=8)
    with pytest.raises(BadSchedule, match="did you mean 'hold'"):
        from_case({"faults": [{"fault": "contested-election", "hodl": 1}]}, NODES, seed=1,
                  total=8)
