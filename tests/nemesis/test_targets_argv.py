"""Target selection and iptables/tc argv builders (pure)."""

import random

import pytest
from hypothesis import given, strategies as st

from nemesis import CHAIN, majority, select_targets
from nemesis import _argv

node_lists = st.integers(min_value=1, max_value=9).map(lambda n: [f"n{i}" for i in range(1, n + 1)])


@given(node_lists, st.integers(0, 2**32))
def test_target_sizes(nodes, seed):
    rng = random.Random(seed)
    n = len(nodes)
    assert len(select_targets("one", nodes, rng)) == 1
    assert len(select_targets("minority", nodes, rng)) == n - majority(n)
    assert len(select_targets("majority", nodes, rng)) == majority(n)
    assert select_targets("all", nodes, rng) == sorted(nodes)
    leader = rng.choice(nodes)
    assert select_targets("leader", nodes, rng, leader) == [leader]
    assert select_targets("followers", nodes, rng, leader) == sorted(set(nodes) - {leader})
    for spec in ("one", "minority", "majority"):
        assert set(select_targets(spec, nodes, rng)) <= set(nodes)
    assert select_targets("majority", nodes, random.Random(seed)) == \
        select_targets("majority", nodes, random.Random(seed))


@pytest.mark.parametrize("spec,leader,msg", [
    ("leader", None, "none is known"),
    ("everyone", None, "unknown target 'everyone'"),
    (["n1", "n7"], None, "expected a non-empty subset"),
    ([], None, "expected a non-empty subset"),
])
def test_bad_targets(spec, leader, msg):
    with pytest.raises(ValueError, match=msg):
        select_targets(spec, ["n1", "n2", "n3"], random.Random(0), leader)


def test_chain_argv_touch_only_the_harness_chain():
    setup, teardown = _argv.chain_setup("iptables"), _argv.chain_teardown("iptables")
    assert setup == [["iptables", "-w", "-N", CHAIN],
                     ["iptables", "-w", "-I", "INPUT", "1", "-j", CHAIN]]
    assert teardown == [["iptables", "-w", "-D", "INPUT", "-j", CHAIN],
                        ["iptables", "-w", "-F", CHAIN], ["iptables", "-w", "-X", CHAIN]]
    for argv in setup + teardown:
        assert "-F" not in argv or argv[argv.index("-F") + 1] == CHAIN
        assert "-P" not in argv


def test_drop_rule_matches_the_peer_and_is_tagged():
    spec = _argv.drop_spec("10.0.0.2", "f3-1", 0.3)
    assert _argv.add_rule("iptables", spec) == [
        "iptables", "-w", "-A", CHAIN, "-s", "10.0.0.2", "-m", "statistic", "--mode", "random",
        "--probability", "0.3000", "-m", "comment", "--comment", "helios-nemesis f3-1",
        "-j", "DROP"]
    assert _argv.delete_rule("iptables", spec)[3:] == _argv.add_rule("iptables", spec)[3:]
    line = '-A HELIOS-NEMESIS -s 10.0.0.2/32 -m comment --comment "helios-nemesis f3-1" -j DROP'
    assert _argv.rule_fault(line) == "f3-1"
    assert _argv.owned_rule_lines(f"-P INPUT ACCEPT\n{line}\n-A INPUT -j DOCKER") == [line]
    with pytest.raises(ValueError, match="probability"):
        _argv.drop_spec("10.0.0.2", "f1", 1.5)


def test_qdisc_argv_use_the_harness_handle():
    assert _argv.tbf_add("eth0", "1mbit")[:8] == ["tc", "qdisc", "add", "dev", "eth0", "root",
                                                  "handle", "4e4d:"]
    assert _argv.qdisc_del("eth0") == ["tc", "qdisc", "del", "dev", "eth0", "root",
                                       "handle", "4e4d:"]
    assert _argv.netem_add("eth0", delay_ms=50, jitter_ms=10, duplicate=0.01)[8:] == [
        "netem", "delay", "50ms", "10ms", "duplicate", "1%"]
    show = "qdisc noqueue 0: dev lo root\nqdisc tbf 4e4d: dev eth0 root refcnt 2 rate 1Mbit"
    assert _argv.owned_qdisc_lines(show) == [show.splitlines()[1]]
