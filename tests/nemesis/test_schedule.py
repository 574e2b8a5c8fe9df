"""Schedules are data: seeded generation, JSON/YAML round trips, validation naming the field."""

import asyncio

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from nemesis import BadSchedule, Schedule, from_case, generate
from nemesis._schedule import SHORTHAND

NODES = ["n1", "n2", "n3", "n4", "n5"]
fault_lists = st.lists(st.sampled_from(sorted(SHORTHAND)), min_size=1, max_size=6)


@settings(deadline=None)   # a 0.3 ms body; 2 shared cores at load 20 made the deadline flaky
@given(st.integers(0, 2**31), fault_lists)
def test_same_seed_same_schedule_and_round_trips(seed, faults):
    a = generate(seed, NODES, faults, interval=2, duration=1, total=20)
    assert a == generate(seed, NODES, faults, interval=2, duration=1, total=20)
    assert Schedule.from_json(yaml.safe_load(yaml.safe_dump(a.to_json()))) == a
    assert Schedule.from_json(__import__("json").loads(a.dumps())) == a
    assert [s.at for s in a.steps] == [2.0 * i for i in range(10)]
    assert [s.fault for s in a.steps[:len(faults)]] == [SHORTHAND[f]["fault"] for f in faults]


def test_seed_changes_random_choices():
    shapes = ["partition-random", "kill-one", "clock-skew"]
    schedules = {generate(s, NODES, shapes, interval=1, duration=1, total=30).dumps()
                 for s in range(5)}
    assert len(schedules) == 5


def test_timeline_from_case_yaml():
    section = yaml.safe_load("""
timeline:
  - {at: 5, fault: partition, shape: isolate-one, node: n1, duration: 10}
  - {at: 1, fault: kill, targets: leader, duration: 2}
  - {at: 20, fault: bitflip, node: n2, path: /var/lib/heliosdb/data/wal.log}
""")
    sch = from_case(section, NODES, seed=1, total=60)
    assert [(s.at, s.fault, s.duration) for s in sch.steps] == [
        (1.0, "kill", 2.0), (5.0, "partition", 10.0), (20.0, "bitflip", 0.0)]
    assert sch.steps[1].params["grudge"]["n1"] == ["n2", "n3", "n4", "n5"]
    assert sch.steps[0].params == {"targets": "leader"}


@pytest.mark.parametrize("section,msg", [
    ({"faults": ["partition-triangle"]}, r"nemesis.faults\[0\]: unknown fault"),
    ({"faults": []}, "nemesis.faults: must be a non-empty list"),
    ({"faults": ["loss"], "interval": 1, "duration": 2}, "must not exceed nemesis.interval"),
    ({"faults": ["loss"], "interval": "soon"}, "nemesis.interval: must be a number"),
    ({"timeline": [{"fault": "kill"}]}, r"nemesis.timeline\[0\].at: is required"),
    ({"timeline": [{"at": 1, "fault": "kill", "targets": "n9"}]},
     r"nemesis.timeline\[0\].targets: unknown value 'n9'"),
    ({"timeline": [{"at": 1, "fault": "kill", "targets": ["n9"]}]},
     r"nemesis.timeline\[0\]: target nodes \['n9'\]"),
    ({"timeline": [{"at": 1, "fault": "melt"}]}, r"nemesis.timeline\[0\].fault: a fault must be"),
])
def test_bad_schedules_name_the_field(section, msg):
    with pytest.raises(BadSchedule, match=msg):
        from_case(section, NODES, seed=0, total=10)


@pytest.mark.slow
def test_run_timeline_applies_and_ends_each_step(nemesis):
    from nemesis import run_timeline
    nem, events = nemesis
    # Steps start at their offsets whatever the previous one took (production timing):
    # 1 s apart, so on real hosts (apply + hold + end well under 1 s) they never overlap.
    sch = generate(4, nem.nodes, ["partition-isolate-one", "partition-random", "loss"],
                   interval=1.0, duration=0.3, total=3.0)

    async def no_leader():
        return None
    outcome = asyncio.run(run_timeline(nem, sch, leader=no_leader))
    assert outcome.skipped == [] and outcome.failed == []
    kinds = [(e["f"], e["type"]) for e in events if e["f"] != "heal"]
    assert kinds == [("partition", "invoke"), ("partition", "info"), ("end", "invoke")] * 2 + [
        ("loss", "invoke"), ("loss", "info"), ("end", "invoke")]
    heals = events.of("heal", "info")
    assert len(heals) == 3 and all(h["value"]["ok"] for h in heals), heals
    assert events.of("partition", "info")[0]["value"]["grudge"] == sch.steps[0].params["grudge"]


def test_schedule_file_round_trip(tmp_path):
    from nemesis import read_schedule, write_schedule
    sch = generate(9, NODES, ["partition-bridge", "pause-minority"], interval=3, duration=2,
                   total=12)
    write_schedule(tmp_path, sch)
    assert read_schedule(tmp_path) == sch
