"""Partition shapes as grudges (layer: nemesis, pure).

A *grudge* maps each node to the set of nodes it drops traffic FROM; it is
applied as INPUT DROP rules on the dropping node. Builders take node names
and (where random) a `random.Random`, never the global RNG, so a schedule
seed reproduces the same shapes. A shape is a graph of who-hears-whom (an
adjacency mapping), and its grudge is the complement. Standard library only:
the nemesis imports nothing third-party (tests check shapes against networkx).
"""

from __future__ import annotations

import random
from typing import Iterable, Mapping, Sequence

Grudge = dict[str, frozenset[str]]

SHAPES = ("halves", "majority-minority", "isolate-one", "isolate-leader", "bridge",
          "majorities-ring", "random")


def majority(n: int) -> int:
    """Smallest number of nodes that is a strict majority of n."""
    return n // 2 + 1


Graph = dict[str, set[str]]


def _connect(g: Graph, nodes: Iterable[str], to: Iterable[str] | None = None) -> None:
    """Undirected edges between every two of `nodes` (or from each of `nodes` to `to`)."""
    nodes = list(nodes)
    for a in nodes:
        g.setdefault(a, set())
        for b in (nodes if to is None else to):
            if a != b:
                g[a].add(b)
                g.setdefault(b, set()).add(a)


def grudge_from_graph(g: Graph) -> Grudge:
    """Each node drops every node it is not adjacent to (self excluded)."""
    nodes = set(g)
    return {n: frozenset(nodes - g[n] - {n}) for n in g}


def complete_grudge(components: Iterable[Iterable[str]]) -> Grudge:
    """Symmetric partition: every node drops all nodes outside its own component."""
    g: Graph = {}
    for comp in components:
        _connect(g, comp)
    return grudge_from_graph(g)


def one_way(grudge: Mapping[str, Iterable[str]], droppers: Iterable[str]) -> Grudge:
    """Keep only the grudges held by `droppers`: traffic into them from their
    enemies is dropped, traffic out of them still flows."""
    keep = set(droppers)
    return {n: frozenset(v) if n in keep else frozenset() for n, v in grudge.items()}


def halves(nodes: Sequence[str]) -> list[list[str]]:
    """The first n//2 nodes against the rest (equal halves when n is even)."""
    k = len(nodes) // 2
    return [list(nodes[:k]), list(nodes[k:])]


def majority_minority(nodes: Sequence[str]) -> list[list[str]]:
    """[minority, majority]: the largest minority against a strict majority."""
    k = len(nodes) - majority(len(nodes))
    return [list(nodes[:k]), list(nodes[k:])]


def isolate(nodes: Sequence[str], node: str) -> list[list[str]]:
    """[[node], everyone else]."""
    if node not in nodes:
        raise ValueError(f"cannot isolate {node!r}: not one of {list(nodes)}")
    return [[node], [n for n in nodes if n != node]]


def random_split(nodes: Sequence[str], rng: random.Random) -> list[list[str]]:
    """Two non-empty random components."""
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    k = rng.randint(1, len(shuffled) - 1)
    return [sorted(shuffled[:k]), sorted(shuffled[k:])]


def bridge_grudge(nodes: Sequence[str]) -> Grudge:
    """Two halves that cannot hear each other, plus one node in the middle
    that hears, and is heard by, both (as jepsen's `bridge`)."""
    if len(nodes) < 3:
        raise ValueError(f"a bridge needs at least 3 nodes, got {len(nodes)}")
    mid = len(nodes) // 2
    left, middle, right = nodes[:mid], nodes[mid], nodes[mid + 1:]
    g: Graph = {n: set() for n in nodes}
    for side in (left, right):
        _connect(g, side)
        _connect(g, [middle], side)
    return grudge_from_graph(g)


def majorities_ring(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """Every node hears a majority (itself included), but no two nodes hear the
    same majority: nodes on a shuffled ring each hear the window of
    `majority(n)` consecutive nodes around them (jepsen's majorities-ring)."""
    ring = list(nodes)
    rng.shuffle(ring)
    n, m = len(ring), majority(len(ring))
    everyone = frozenset(ring)
    grudge: Grudge = {}
    for start in range(n):
        window = [ring[(start + k) % n] for k in range(m)]
        grudge[window[m // 2]] = everyone - frozenset(window)
    return grudge


def build_grudge(shape: str, nodes: Sequence[str], rng: random.Random, *,
                 node: str | None = None, direction: str = "symmetric") -> Grudge:
    """The grudge for a named shape. `node` is the node to isolate (isolate-one,
    isolate-leader); one-way keeps only the grudge of the first component
    (the isolated node, or the minority), so it cannot hear the others while
    they still hear it."""
    nodes = list(nodes)
    if shape == "halves":
        comps = halves(nodes)
    elif shape == "majority-minority":
        comps = majority_minority(nodes)
    elif shape in ("isolate-one", "isolate-leader"):
        comps = isolate(nodes, node if node is not None else rng.choice(nodes))
    elif shape == "random":
        comps = random_split(nodes, rng)
    elif shape == "bridge":
        return _direct(bridge_grudge(nodes), direction, None)
    elif shape == "majorities-ring":
        return _direct(majorities_ring(nodes, rng), direction, None)
    else:
        raise ValueError(f"unknown partition shape {shape!r}; expected one of {', '.join(SHAPES)}")
    return _direct(complete_grudge(comps), direction, comps[0])


def _direct(grudge: Grudge, direction: str, droppers) -> Grudge:
    if direction == "symmetric":
        return grudge
    if direction != "one-way":
        raise ValueError(f"direction must be 'symmetric' or 'one-way', got {direction!r}")
    if droppers is None:
        raise ValueError("one-way applies to shapes with two components "
                         "(halves, isolate-one, isolate-leader, random)")
    return one_way(grudge, droppers)


def grudge_to_json(grudge: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    return {n: sorted(v) for n, v in sorted(grudge.items())}


def grudge_from_json(data: Mapping[str, Iterable[str]]) -> Grudge:
    return {str(n): frozenset(map(str, v)) for n, v in data.items()}
