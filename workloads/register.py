"""Register workload: read / write / cas over many keys, checked for linearizability
(layer: workloads).

History ops (model "cas-register", initial value null, null reads mean absent):
`read` (value null on invoke, the value read on ok), `write` (a unique int per
key), `cas` ([expected, new]; new is unique per key, expected is usually the
last value generated for the key, so some cas ops succeed and some fail).
The adapter's "register" client carries them to the database.
"""

from __future__ import annotations

import random

from workloads._base import Workload


class RegisterWorkload(Workload):
    name = "register"
    kind = "register"
    checkers = ("linearizable",)
    model = "cas-register"

    def __init__(self, keys: int = 10, weights=(0.4, 0.4, 0.2)):
        if keys < 1:
            raise ValueError(f"register workload: keys must be at least 1, got {keys}")
        self.keys = [f"k{i}" for i in range(keys)]
        self.weights = weights
        self._next = {k: 0 for k in self.keys}

    def _fresh(self, key) -> int:
        self._next[key] += 1
        return self._next[key]

    def generate(self, rng: random.Random) -> dict:
        key = rng.choice(self.keys)
        f = rng.choices(("read", "write", "cas"), weights=self.weights)[0]
        if f == "read":
            return {"f": f, "key": key, "value": None}
        if f == "write":
            return {"f": f, "key": key, "value": self._fresh(key)}
        last = self._next[key]
        expected = last if last and rng.random() < 0.7 else rng.randint(0, max(last, 1)) or None
        return {"f": f, "key": key, "value": [expected, self._fresh(key)]}
