"""Partitions on a real netns cluster: observed by independent TCP/UDP probes, healed clean."""

import asyncio
import random
import subprocess

import pytest

from nemesis import CHAIN, build_grudge, read_entries

from nemesis_probes import in_ns, tcp_reachable, udp_delivered

pytestmark = pytest.mark.slow


def harness_rules(host) -> list[str]:
    out = in_ns(host, ["iptables", "-w", "-S"]).stdout
    return [ln for ln in out.splitlines() if CHAIN in ln or "helios-nemesis" in ln]


def test_isolate_n1_then_heal(nemesis, netns_hosts):
    nem, events = nemesis
    n1, n2, n3 = netns_hosts
    grudge = build_grudge("isolate-one", nem.nodes, random.Random(0), node="n1")
    fault = asyncio.run(nem.partition(grudge, shape="isolate-one"))

    assert not tcp_reachable(n1, n2) and not tcp_reachable(n1, n3)
    assert not tcp_reachable(n2, n1) and not tcp_reachable(n3, n1)
    assert tcp_reachable(n2, n3) and tcp_reachable(n3, n2)
    invoke, info = events.of("partition")
    assert (invoke["type"], info["type"]) == ("invoke", "info")
    assert invoke["process"] == "nemesis" and invoke["time"] <= info["time"]
    assert info["value"]["grudge"] == {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}
    assert info["value"]["fault"] == fault

    healed = asyncio.run(nem.heal())
    assert healed["ok"], healed
    assert all(all(row.values()) for row in healed["reachability"].values())
    assert healed["leftover_rules"] == []
    assert all(tcp_reachable(a, b) for a in netns_hosts for b in netns_hosts if a is not b)
    assert all(harness_rules(h) == [] for h in netns_hosts)
    assert events.of("heal", "info")[-1]["value"] == healed
    assert all(e.state == "healed" for e in read_entries(nem.ledger.path))


def test_one_way_partition_blocks_one_direction(nemesis, netns_hosts):
    nem, _ = nemesis
    n1, n2, _n3 = netns_hosts
    grudge = build_grudge("isolate-one", nem.nodes, random.Random(0), node="n1",
                          direction="one-way")
    asyncio.run(nem.partition(grudge))
    assert udp_delivered(n2, n1, 50, window=1.5) == 0       # n1 drops what n2 sends
    assert udp_delivered(n1, n2, 50) == 50                  # n1's packets still reach n2


def test_end_removes_only_that_faults_rules(nemesis, netns_hosts):
    nem, events = nemesis
    n1, n2, n3 = netns_hosts
    first = asyncio.run(nem.partition({"n1": {"n2"}, "n2": {"n1"}}))
    asyncio.run(nem.partition({"n3": {"n1"}, "n1": {"n3"}}))
    result = asyncio.run(nem.end(first))
    assert result["ok"], result
    assert tcp_reachable(n1, n2) and not tcp_reachable(n1, n3)
    assert result["reachability"]["n1"] == {"n2": True, "n3": False}
    assert len([ln for ln in harness_rules(n1) if "-s " in ln]) == 1


def test_heal_leaves_foreign_rules_alone(nemesis, netns_hosts):
    """A rule the harness did not create (in INPUT and in another chain) survives heal."""
    nem, _ = nemesis
    n2 = netns_hosts[1]
    foreign = ["-s", "192.0.2.7", "-j", "DROP"]
    in_ns(n2, ["iptables", "-w", "-A", "INPUT", *foreign])
    try:
        asyncio.run(nem.partition({"n2": {"n3"}, "n3": {"n2"}}))
        assert asyncio.run(nem.heal())["ok"]
        in_ns(n2, ["iptables", "-w", "-C", "INPUT", *foreign])   # raises if it is gone
    finally:
        in_ns(n2, ["iptables", "-w", "-D", "INPUT", *foreign])


def test_verification_reports_a_rule_left_behind(nemesis, netns_hosts):
    """The heal check can fail: a harness-tagged rule planted outside the ledger is reported."""
    nem, _ = nemesis
    n3 = netns_hosts[2]
    asyncio.run(nem.partition({"n3": {"n1"}, "n1": {"n3"}}))
    planted = ["-s", netns_hosts[1].address, "-m", "comment", "--comment",
               "helios-nemesis stray", "-j", "DROP"]
    in_ns(n3, ["iptables", "-w", "-I", "INPUT", *planted])
    try:
        result = asyncio.run(nem.heal())
        assert not result["ok"]
        assert any("helios-nemesis stray" in ln for ln in result["leftover_rules"])
        assert "n3->n2: unreachable" in result["unexpected_reachability"]
    finally:
        subprocess.run(["ip", "netns", "exec", n3.extra["netns"], "iptables", "-w", "-D",
                        "INPUT", *planted], check=True)
