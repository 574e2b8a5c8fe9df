"""Which nodes a process, packet or clock fault hits (layer: nemesis, pure).

A target spec is one of "one", "minority", "majority", "all", "leader",
"followers", or an explicit list of node names. Random picks come from the
`random.Random` passed in; the leader comes from the caller (who asked the
cluster), so this module reads neither clocks nor the network.
"""

from __future__ import annotations

import random
from typing import Sequence

from ._grudge import majority

TARGETS = ("one", "minority", "majority", "all", "leader", "followers")


def select_targets(spec, nodes: Sequence[str], rng: random.Random,
                   leader: str | None = None) -> list[str]:
    """The nodes `spec` names, sorted. Raises ValueError naming the spec when
    it cannot be satisfied (unknown node, no leader known)."""
    nodes = sorted(nodes)
    if isinstance(spec, (list, tuple)):
        unknown = [n for n in spec if n not in nodes]
        if unknown or not spec:
            raise ValueError(f"target nodes {list(spec)}: expected a non-empty subset of {nodes}")
        return sorted(set(spec))
    if spec in ("leader", "followers"):
        if leader not in nodes:
            raise ValueError(f"target {spec!r} needs the current leader, but none is known "
                             f"(got {leader!r})")
        return [leader] if spec == "leader" else [n for n in nodes if n != leader]
    n = len(nodes)
    sizes = {"one": 1, "minority": n - majority(n), "majority": majority(n), "all": n}
    if spec not in sizes:
        raise ValueError(f"unknown target {spec!r}; expected one of {', '.join(TARGETS)} "
                         "or a list of node names")
    return sorted(rng.sample(nodes, sizes[spec]))
