"""Netns naming and subnet choice: pure helpers, checked on their invariants."""

import ipaddress
import json

from harness.provision import _netns_names as nm

RUN = "20260101T000000-abc123"


def test_names_fit_the_interface_limit_and_carry_the_run():
    assert nm.bridge_name(RUN) == "hhabc123"
    for i in range(1, 10):
        assert len(nm.veth_name(RUN, i)) <= 15
        assert nm.run_of_netns(nm.netns_name(RUN, i)) == RUN
    assert nm.run_of_alias(nm.alias(RUN)) == RUN
    assert nm.run_of_alias("something else") is None
    assert nm.run_of_netns("other-ns") is None


def _routes(*dsts):
    return json.dumps([{"dst": d} for d in dsts])


def test_subnet_avoids_every_existing_route_and_address():
    first = nm.pick_subnet(RUN, _routes("default"), "[]")
    assert first.prefixlen == 24 and first.subnet_of(ipaddress.ip_network("10.213.0.0/16"))
    taken = _routes("default", str(first))
    second = nm.pick_subnet(RUN, taken, "[]")
    assert second != first
    addrs = json.dumps([{"addr_info": [{"family": "inet", "local": str(second.network_address + 5),
                                       "prefixlen": 24}]}])
    third = nm.pick_subnet(RUN, taken, addrs)
    assert third not in (first, second)


def test_a_covering_route_blocks_the_whole_pool():
    try:
        nm.pick_subnet(RUN, _routes("10.0.0.0/8"), "[]")
    except RuntimeError as exc:
        assert "no free /24" in str(exc)
    else:
        raise AssertionError("a /8 route over the pool must leave no candidate")


def test_node_and_bridge_addresses():
    net = ipaddress.ip_network("10.213.7.0/24")
    assert [nm.node_address(net, i) for i in (1, 7)] == ["10.213.7.1", "10.213.7.7"]
    assert nm.bridge_address(net) == "10.213.7.254"
