"""Packet faults on a real netns cluster, measured independently: loss, bandwidth, netem probe."""

import asyncio

import pytest

from nemesis import NemesisUnsupported
from nemesis._probe import cluster_interface
from nemesis_probes import in_ns, tcp_throughput, udp_delivered

pytestmark = pytest.mark.slow


def test_packet_loss_30_percent_is_measured(nemesis, netns_hosts):
    nem, events = nemesis
    n1, n2, _ = netns_hosts
    assert udp_delivered(n2, n1, 400) == 400                  # clean before
    asyncio.run(nem.packet_loss(["n1"], 0.3, peers=["n2"]))
    delivered = udp_delivered(n2, n1, 400)
    loss = 1 - delivered / 400
    assert 0.2 <= loss <= 0.4, loss
    assert udp_delivered(netns_hosts[2], n1, 100) == 100      # n3 is not a lossy peer
    assert events.of("loss", "info")[0]["value"]["probability"] == 0.3


def test_tbf_limits_bandwidth(nemesis, netns_hosts):
    nem, _ = nemesis
    n1, n2, _ = netns_hosts
    free = tcp_throughput(n1, n2, 4_000_000)
    fault = asyncio.run(nem.bandwidth(["n1"], "2mbit"))       # 250 kB/s
    limited = tcp_throughput(n1, n2, 300_000)
    assert limited < 250_000 * 1.5, limited
    assert free > 10 * limited, (free, limited)
    result = asyncio.run(nem.end(fault))
    assert result["ok"], result
    dev = asyncio.run(cluster_interface(nem.remotes["n1"]))
    assert "4e4d:" not in in_ns(n1, ["tc", "qdisc", "show", "dev", dev]).stdout


def test_bandwidth_toward_shapes_only_the_packets_to_that_host(nemesis, netns_hosts):
    """The link into n2: n1's packets to n2 are slowed, n1's to n3 are not; the event says
    which mechanism ran, and the heal leaves no qdisc behind."""
    nem, events = nemesis
    n1, n2, n3 = netns_hosts
    fault = asyncio.run(nem.bandwidth_toward("n2", "2mbit"))          # 250 kB/s
    to_n2 = tcp_throughput(n1, n2, 300_000)
    to_n3 = tcp_throughput(n1, n3, 4_000_000)
    assert to_n2 < 250_000 * 1.5, to_n2
    assert to_n3 > 10 * to_n2, (to_n3, to_n2)
    value = events.of("bandwidth", "info")[0]["value"]
    assert value["nodes"] == ["n2"] and value["shaped_on"] == ["n1", "n3"]
    assert value["mechanism"].startswith("tc htb class 2mbit with a u32 filter on destination "
                                         f"{n2.address}"), value
    result = asyncio.run(nem.end(fault))
    assert result["ok"], result
    assert asyncio.run(nem.leftovers()) == {"n1": [], "n2": [], "n3": []}


def test_netem_fails_fast_or_really_delays(nemesis, netns_hosts):
    """This kernel may lack sch_netem: then the fault refuses with a message that
    says so and leaves nothing behind; where netem exists, the delay is real."""
    nem, events = nemesis
    try:
        asyncio.run(nem.netem(["n1"], delay_ms=100))
    except NemesisUnsupported as exc:
        assert "tc netem is not available on n1" in str(exc) and "sch_netem" in str(exc)
        assert "error" in events.of("netem", "info")[0]["value"]
        assert asyncio.run(nem.leftovers()) == {"n1": [], "n2": [], "n3": []}
        return
    n1, n2, _ = netns_hosts
    out = in_ns(n1, ["python3", "-c", "import socket,sys,time;t=time.monotonic();"
                     "s=socket.create_connection((sys.argv[1],22),5);"
                     "print(time.monotonic()-t)", n2.address]).stdout
    assert float(out) >= 0.09
