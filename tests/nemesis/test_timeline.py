"""The timeline runner the harness uses (nemesis.run_timeline), on virtual time: no waits.

Steps run at their offsets in their own tasks and may overlap; a step whose targets
cannot be chosen is skipped and recorded; a step that raises is recorded (once) and the
others go on. Process faults go through a real Nemesis with an in-memory implementation
of the leaf's ProcessControl protocol (a "database" that is a dict of process states), so
no host is touched; the overlap test drives a recorder of the calls the timeline makes.
"""

import asyncio
import heapq

import pytest

from harness.control import LocalRemote, local_host
from nemesis import (FAULTS, Ledger, Nemesis, Schedule, Step, cascade_schedule, read_entries,
                     run_timeline)
from remote import ProcessControl

NODES = ["n1", "n2", "n3"]


class VirtualTime:
    """sleep() that advances a virtual clock once every task is blocked."""

    def __init__(self):
        self.now, self._heap, self._seq = 0.0, [], 0

    async def sleep(self, seconds: float) -> None:
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + seconds, self._seq, fut))
        self._seq += 1
        await fut

    async def run(self, coro):
        task = asyncio.ensure_future(coro)
        while not task.done():
            for _ in range(50):
                await asyncio.sleep(0)
            if self._heap and not task.done():
                when, _, fut = heapq.heappop(self._heap)
                self.now = max(self.now, when)
                fut.set_result(None)
        return task.result()


class Processes:
    """ProcessControl over a dict: node -> "running" | "killed" | "paused"."""

    def __init__(self, nodes):
        self.state = {n: "running" for n in nodes}
        self.calls = []

    async def _set(self, op, remote, state):
        self.calls.append((op, remote.host.name))
        self.state[remote.host.name] = state

    async def start(self, remote):
        await self._set("start", remote, "running")

    async def kill(self, remote):
        await self._set("kill", remote, "killed")

    async def pause(self, remote):
        await self._set("pause", remote, "paused")

    async def resume(self, remote):
        await self._set("resume", remote, "running")


def make_nemesis(tmp_path, db=None):
    events = []
    remotes = {n: LocalRemote(local_host(n)) for n in NODES}
    nem = Nemesis(remotes, Ledger(tmp_path), record=events.append, clock=lambda: len(events),
                  db=db)
    return nem, events


async def no_leader():
    return None


def run(coro):
    return asyncio.run(coro)


def test_in_memory_processes_is_a_process_control():
    assert isinstance(Processes(NODES), ProcessControl)


def test_no_leader_skips_the_step_records_why_and_touches_nothing(tmp_path):
    nem, events = make_nemesis(tmp_path, Processes(NODES))
    sch = Schedule(1, (Step(1.0, "kill", {"targets": "leader"}, 2.0),
                       Step(2.0, "partition", {"shape": "isolate-leader"}, 1.0),
                       Step(3.0, "pause", {"targets": "followers"}, 1.0)))
    clock = VirtualTime()
    outcome = run(clock.run(run_timeline(nem, sch, leader=no_leader, sleep=clock.sleep)))
    assert [(s["at"], s["fault"]) for s in outcome.skipped] == [
        (1.0, "kill"), (2.0, "partition"), (3.0, "pause")]
    assert "no leader is known" in outcome.skipped[0]["reason"]
    assert outcome.failed == []
    assert [(e["type"], e["f"]) for e in events] == [
        ("invoke", "kill"), ("info", "kill"), ("invoke", "partition"), ("info", "partition"),
        ("invoke", "pause"), ("info", "pause")]
    info = events[1]["value"]
    assert "no leader" in info["skipped"] and info["error"].startswith("skipped:")
    assert nem.db.calls == [] and read_entries(nem.ledger.path) == []


def test_a_target_already_down_is_skipped_and_the_kill_is_undone_at_its_end(tmp_path):
    db = Processes(NODES)
    nem, events = make_nemesis(tmp_path, db)

    async def end(fault):   # Nemesis.end minus its network survey: there are no hosts here
        await nem.undo(nem.ledger.open_entries(fault))
        nem._forget(fault)
    nem.end = end
    sch = Schedule(1, (Step(1.0, "kill", {"nodes": ["n1"]}, 5.0),
                       Step(2.0, "kill", {"nodes": ["n1"]}, 1.0),
                       Step(3.0, "restart", {"nodes": ["n1", "n2"]}, 0.0)))
    clock = VirtualTime()
    outcome = run(clock.run(run_timeline(nem, sch, leader=no_leader, sleep=clock.sleep)))
    assert [s["at"] for s in outcome.skipped] == [2.0]
    assert "already down (n1)" in outcome.skipped[0]["reason"]
    # the restart left the down node alone, the first kill's end started n1 again
    assert db.calls == [("kill", "n1"), ("kill", "n2"), ("start", "n2"), ("start", "n1")]
    assert db.state == {"n1": "running", "n2": "running", "n3": "running"}
    assert nem.down_nodes() == set() and nem.ledger.open_entries() == []


def test_a_failing_step_is_recorded_once_and_the_others_go_on(tmp_path):
    nem, events = make_nemesis(tmp_path, db=None)      # kill needs a DB adapter: fails
    sch = Schedule(1, (Step(1.0, "kill", {"nodes": ["n2"]}, 1.0),
                       Step(2.0, "partition", {"grudge": 5}, 1.0),      # raises before acting
                       Step(3.0, "melt", {}, 0.0)))
    clock = VirtualTime()
    outcome = run(clock.run(run_timeline(nem, sch, leader=no_leader, sleep=clock.sleep)))
    assert outcome.skipped == []
    assert [(f["at"], f["fault"]) for f in outcome.failed] == [
        (1.0, "kill"), (2.0, "partition"), (3.0, "melt")]
    assert "needs a DB adapter" in outcome.failed[0]["error"]
    assert outcome.failed[1]["error"].startswith("AttributeError")
    assert "unknown fault 'melt'" in outcome.failed[2]["error"]
    kinds = [(e["type"], e["f"]) for e in events]
    assert kinds == [("invoke", "kill"), ("info", "kill"), ("invoke", "partition"),
                     ("info", "partition"), ("invoke", "melt"), ("info", "melt")]
    assert all("error" in e["value"] for e in events if e["type"] == "info")


class Recorder:
    """The calls run_timeline makes on a nemesis, stamped with virtual time."""

    def __init__(self, clock):
        self.clock, self.log, self.down, self._n = clock, [], set(), 0
        self.nodes = [f"n{i}" for i in range(1, 8)]

    def down_nodes(self):
        return set(self.down)

    def event(self, type_, f, value):
        self.log.append((self.clock.now, "event", type_, f))

    async def signal(self, op, nodes):
        self._n += 1
        self.down |= set(nodes)
        self.log.append((self.clock.now, op, tuple(nodes), f"f{self._n}"))
        return f"f{self._n}"

    async def end(self, fault):
        self.log.append((self.clock.now, "end", fault))


def test_cascade_steps_overlap_at_their_offsets():
    clock = VirtualTime()
    rec = Recorder(clock)
    sch = cascade_schedule(rec.nodes, 4, every=2, hold=3, total=0)
    outcome = run(clock.run(run_timeline(rec, sch, leader=no_leader, sleep=clock.sleep)))
    assert outcome.skipped == [] and outcome.failed == []
    kills = [(t, nodes) for t, what, *rest in rec.log if what == "kill"
             for nodes in [rest[0]]]
    ends = [(t, rest[0]) for t, what, *rest in rec.log if what == "end"]
    span = sch.steps[0].duration
    assert [t for t, _ in kills] == [3.0, 5.0, 7.0]
    assert ends == [(3.0 + span, "f1"), (5.0 + span, "f2"), (7.0 + span, "f3")]
    assert ends[0][0] > kills[-1][0], "all three are down together before the first returns"


def test_every_schedulable_fault_has_a_handler():
    from nemesis import SHORTHAND
    names = set(FAULTS) | {spec["fault"] for spec in SHORTHAND.values()}
    assert names == set(FAULTS)
    for name, fault in FAULTS.items():
        assert fault.name == name and asyncio.iscoroutinefunction(fault.apply), name
        assert fault.needs in (None, "kill", "pause", "clock", "disk"), name
        assert fault.node_after in (None, "down", "refuse"), name
    # the revival watcher's expectations come from here: a WAL flip restarts and must refuse
    assert FAULTS["wal-bitflip"].node_after == "refuse"
    assert FAULTS["bitflip"].node_after == FAULTS["truncate"].node_after == "down"


@pytest.mark.parametrize("shorthand", sorted(__import__("nemesis").SHORTHAND))
def test_every_shorthand_passes_its_faults_own_checks(shorthand):
    from nemesis import SHORTHAND, from_case
    sch = from_case({"faults": [shorthand]}, [f"n{i}" for i in range(1, 6)], seed=1, total=5)
    assert sch.steps[0].fault == SHORTHAND[shorthand]["fault"]
