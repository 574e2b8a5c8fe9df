"""Case files and schedules: validation names the field; schedules cover what the case promises."""

import itertools
import subprocess
import sys

import pytest
import yaml

from harness.cases import catalogue, load_case, parse_case
from nemesis import build_schedule, cascade_schedule, partition_topologies, topology_schedule
from harness.errors import BadInput
from harness.db import parse_db_opts

GOOD = yaml.safe_load((catalogue()[0]).read_text())


def nodes(n):
    return [f"n{i}" for i in range(1, n + 1)]


def test_catalogue_has_the_five_failover_cases_and_all_load():
    ids = [load_case(str(p)).id for p in catalogue()]
    assert {"TC-AF-001", "TC-AF-002", "TC-AF-003", "TC-AF-004", "TC-AF-005"} <= set(ids)


@pytest.mark.parametrize("mutate,field", [
    (lambda c: c.update(bogus=1), "bogus"),
    (lambda c: c.pop("workloads"), "workloads"),
    (lambda c: c.update(nodes=4), "nodes"),
    (lambda c: c.update(time_limit=-1), "time_limit"),
    (lambda c: c["workloads"][0].update(name="nope"), "workloads[0].name"),
    (lambda c: c["workloads"][0].update(concurrency=0), "concurrency"),
    (lambda c: c.update(checkers=["linearizable", "psychic"]), "checkers[1]"),
    (lambda c: c.update(sla={"leader_election_s": "fast"}), "sla.leader_election_s"),
    (lambda c: c.update(sla={"warp_s": 1}), "sla.warp_s"),
    (lambda c: c.update(required_slas=["nope"]), "required_slas[0]"),
    (lambda c: c.update(db={"election_timeout_ms": 0}), "election_timeout_ms"),
    (lambda c: c.update(nemesis={"faults": ["partition-sideways"]}), "nemesis.faults[0]"),
    (lambda c: c.update(nemesis={"cascade": {"every": -1}}), "nemesis.cascade.every"),
])
def test_invalid_case_is_rejected_naming_the_field(mutate, field):
    case = yaml.safe_load(yaml.safe_dump(GOOD))
    mutate(case)
    with pytest.raises(BadInput) as err:
        parse_case(case, "x.yaml")
    assert field in str(err.value) and "x.yaml" in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_case_file_exits_254_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: X\nworkloads: [{name: register}]\nnemesis: {faults: [kill-one]}\n"
                   "checkers: [linearizable]\nnodes: 2\n")
    proc = subprocess.run([sys.executable, "-m", "harness", "run", str(bad), "--store",
                           str(tmp_path / "store")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 254
    assert "'nodes'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("argv,needle", [
    (["run", "tc-af-404"], "tc-af-404"),
    (["run", "tc-af-001", "--nodes", "4"], "--nodes"),
    (["run", "tc-af-001", "--nodes", "9"], "node_counts"),
    (["run", "tc-af-001", "--db-opt", "speed=11"], "--db-opt"),
    (["run", "tc-af-001", "--backend", "cloud"], "--backend"),
    (["run", "tc-af-001", "--db", "nosuchdb"], "nosuchdb"),
])
def test_bad_run_arguments_exit_254(argv, needle, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harness", *argv, "--store", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 254, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def test_db_opts_parse_bugs_and_numbers():
    assert parse_db_opts("heliosdb", ["bug=stale-read", "bug=no-fsync", "heartbeat_ms=50"]) == {
        "bug": ("stale-read", "no-fsync"), "heartbeat_ms": 50}
    # --db-opt overrides the case's db: mapping; a repeated bug accumulates
    assert parse_db_opts("heliosdb", ["election_timeout_ms=300"],
                         {"election_timeout_ms": 1000, "heartbeat_ms": 100}) == {
        "election_timeout_ms": 300, "heartbeat_ms": 100}
    with pytest.raises(BadInput, match="heartbeat_ms must be an integer"):
        parse_db_opts("heliosdb", ["heartbeat_ms=fast"])


@pytest.mark.parametrize("item, needle", [
    ("bug=bogus", "bug must be one of"), ("election_timeout_ms=-5", "must be >= 10"),
    ("election_timeout_ms=nan", "must be an integer"), ("heartbeat_ms=1e999", "an integer"),
    ("eletion_timeout_ms=3", "did you mean 'election_timeout_ms'"), ("novalue", "KEY=VALUE")])
def test_bad_db_opts_name_the_pair(item, needle):
    with pytest.raises(BadInput, match=needle) as info:
        parse_db_opts("heliosdb", [item])
    assert item in str(info.value) and "\n" not in str(info.value)


def test_unknown_database_is_refused_with_the_choices():
    with pytest.raises(BadInput, match="unknown database.*heliosdb"):
        parse_db_opts("helios", [])


@pytest.mark.parametrize("n", [3, 5])
def test_topologies_cover_every_majority_minority_split(n):
    shapes = partition_topologies(nodes(n), __import__("random").Random(1))
    minorities = {frozenset(s["minority"]) for s in shapes if "minority" in s}
    expected = {frozenset(c) for size in range(1, (n - 1) // 2 + 1)
                for c in itertools.combinations(nodes(n), size)}
    assert minorities == expected
    assert sum(s["shape"] == "isolate-leader" for s in shapes) >= 1
    for s in shapes:
        if "grudge" in s:   # the majority side hears itself, no node drops itself
            assert all(node not in dropped for node, dropped in s["grudge"].items())


def test_seven_node_topologies_have_the_promised_shapes():
    shapes = partition_topologies(nodes(7), __import__("random").Random(3))
    kinds = [s["shape"] for s in shapes]
    for kind in ("halves", "bridge", "majorities-ring", "random", "isolate-leader"):
        assert kind in kinds
    assert sorted(s["node"] for s in shapes if s["shape"] == "isolate-one") == nodes(7)


def test_topology_schedule_is_sequential_and_seeded():
    a, b = topology_schedule(nodes(5), 9), topology_schedule(nodes(5), 9)
    assert a == b
    for x, y in zip(a.steps, a.steps[1:]):
        assert x.at + x.duration < y.at


def test_cascade_kills_up_to_the_tolerable_minority_at_once():
    s = cascade_schedule(nodes(7), 4, every=2, hold=3, total=0)
    assert len(s.steps) == 3 and len({st.params["nodes"][0] for st in s.steps}) == 3
    # all three are down together at the end of the last kill
    t = s.steps[-1].at + 0.1
    assert all(st.at <= t < st.at + st.duration for st in s.steps)


def test_cycle_schedule_starts_after_a_quiet_phase():
    case = load_case("tc-af-001")
    s = build_schedule(case.nemesis, nodes(5), 1, case.time_limit)
    assert s.steps and s.steps[0].at >= 3.0
    assert build_schedule(case.nemesis, nodes(5), 1, case.time_limit) == s


def test_rules_across_database_options_are_checked_before_anything_starts():
    """etcd needs election >= 5 x heartbeat: refused while parsing the options (no cluster)."""
    with pytest.raises(BadInput, match="at least 5 x heartbeat_ms"):
        parse_db_opts("etcd", ["election_timeout_ms=100", "heartbeat_ms=50"])
    assert parse_db_opts("etcd", ["election_timeout_ms=500", "heartbeat_ms=100"]) == {
        "election_timeout_ms": 500, "heartbeat_ms": 100}
