"""Property tests of partition shapes (pure): jepsen nemesis_test.clj invariants."""

import random

import networkx as nx
import pytest
from hypothesis import given, strategies as st

from nemesis import (bridge_grudge, build_grudge, complete_grudge, grudge_from_json,
                     grudge_to_json, majorities_ring, majority, one_way)

node_lists = st.integers(min_value=3, max_value=9).map(lambda n: [f"n{i}" for i in range(1, n + 1)])
seeds = st.integers(min_value=0, max_value=2**32)
SYMMETRIC = ["halves", "majority-minority", "isolate-one", "random", "bridge", "majorities-ring"]


def hears(grudge, a, b):
    """a receives b's packets."""
    return b not in grudge.get(a, ())


@given(node_lists, seeds, st.sampled_from(SYMMETRIC))
def test_no_node_drops_itself_and_only_known_nodes(nodes, seed, shape):
    g = build_grudge(shape, nodes, random.Random(seed))
    assert set(g) == set(nodes)
    for n, drops in g.items():
        assert n not in drops
        assert drops <= set(nodes)


@given(node_lists, seeds, st.sampled_from(["halves", "isolate-one", "random"]))
def test_complete_grudges_are_symmetric_and_cut_something(nodes, seed, shape):
    g = build_grudge(shape, nodes, random.Random(seed))
    assert any(g.values())
    for a in nodes:
        for b in g[a]:
            assert a in g[b]


@given(node_lists)
def test_majority_side_stays_connected(nodes):
    g = build_grudge("majority-minority", nodes, random.Random(0))
    heard = nx.Graph()
    heard.add_nodes_from(nodes)
    heard.add_edges_from((a, b) for a in nodes for b in nodes
                         if a < b and hears(g, a, b) and hears(g, b, a))
    biggest = max(nx.connected_components(heard), key=len)
    assert len(biggest) == majority(len(nodes))
    assert nx.density(heard.subgraph(biggest)) == 1.0
    assert nx.number_connected_components(heard) == 2


@given(node_lists)
def test_halves_are_equal_or_off_by_one(nodes):
    g = build_grudge("halves", nodes, random.Random(0))
    sizes = sorted({len(nodes) - len(v) for v in g.values()})
    assert sizes in ([len(nodes) // 2], [len(nodes) // 2, len(nodes) // 2 + 1])


@given(node_lists, seeds)
def test_isolate_cuts_exactly_one_node(nodes, seed):
    node = random.Random(seed).choice(nodes)
    g = build_grudge("isolate-one", nodes, random.Random(seed), node=node)
    assert g[node] == frozenset(nodes) - {node}
    assert all(g[n] == {node} for n in nodes if n != node)


@given(node_lists)
def test_bridge_node_hears_both_sides_and_sides_are_cut(nodes):
    g = bridge_grudge(nodes)
    middle = nodes[len(nodes) // 2]
    assert g[middle] == frozenset()
    assert all(middle not in g[n] for n in nodes)
    left, right = nodes[:len(nodes) // 2], nodes[len(nodes) // 2 + 1:]
    assert all(r in g[l] and l in g[r] for l in left for r in right)


@given(node_lists, seeds)
def test_majorities_ring_each_hears_a_distinct_majority(nodes, seed):
    g = majorities_ring(nodes, random.Random(seed))
    heard = {n: frozenset(nodes) - g[n] for n in nodes}
    assert all(n in heard[n] and len(heard[n]) == majority(len(nodes)) for n in nodes)
    assert len(set(heard.values())) == len(nodes)


@given(node_lists, seeds)
def test_one_way_keeps_only_the_first_components_grudge(nodes, seed):
    node = random.Random(seed).choice(nodes)
    g = build_grudge("isolate-one", nodes, random.Random(seed), node=node, direction="one-way")
    assert g[node] == frozenset(nodes) - {node}
    assert all(not g[n] for n in nodes if n != node)


@given(node_lists, seeds, st.sampled_from(SYMMETRIC))
def test_same_seed_same_grudge_and_json_roundtrip(nodes, seed, shape):
    a = build_grudge(shape, nodes, random.Random(seed))
    assert a == build_grudge(shape, nodes, random.Random(seed))
    assert grudge_from_json(grudge_to_json(a)) == a


def test_complete_grudge_three_components():
    assert complete_grudge([["a"], ["b", "c"], ["d"]]) == {
        "a": {"b", "c", "d"}, "b": {"a", "d"}, "c": {"a", "d"}, "d": {"a", "b", "c"}}
    assert one_way(complete_grudge([["a"], ["b"]]), ["b"]) == {"a": set(), "b": {"a"}}


@pytest.mark.parametrize("kwargs,msg", [
    ({"shape": "triangle"}, "unknown partition shape"),
    ({"shape": "bridge", "direction": "one-way"}, "one-way applies"),
    ({"shape": "halves", "direction": "sideways"}, "direction must be"),
    ({"shape": "isolate-one", "node": "n9"}, "cannot isolate 'n9'"),
])
def test_bad_shapes_are_named(kwargs, msg):
    shape = kwargs.pop("shape")
    with pytest.raises(ValueError, match=msg):
        build_grudge(shape, ["n1", "n2", "n3"], random.Random(0), **kwargs)
