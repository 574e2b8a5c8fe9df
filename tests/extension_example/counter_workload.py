"""A counter workload: the worked example of docs/extending.md (layer: workloads).

In the tree this would be workloads/counter.py plus the line
`"counter": CounterWorkload,` in workloads/__init__.py's WORKLOADS. It is kept
under tests/ because only the tests use it (tests/test_extending.py registers it).

Ops: `add` of a unique int (the counter's increment: the set of adds is the
counter, so duplicates and losses are visible) and `read` (returns the list
of adds; the count is its length). It reuses the adapter's "set" client, so
every database offering a set client runs it unchanged.
"""

from __future__ import annotations

import random

from workloads import Workload


class CounterWorkload(Workload):
    name = "counter"
    kind = "set"                  # the adapter's client for this data model
    checkers = ("counter",)       # workload-scoped checkers that judge its ops
    model = None

    def __init__(self, keys: int = 1, read_ratio: float = 0.3):
        self.key, self.read_ratio, self.next = "c0", read_ratio, 0

    def generate(self, rng: random.Random) -> dict:
        if rng.random() < self.read_ratio:
            return {"f": "read", "key": self.key, "value": None}
        self.next += 1
        return {"f": "add", "key": self.key, "value": self.next}
