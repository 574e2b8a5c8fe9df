"""The simulated network of the deterministic Raft simulation: loss, duplication,
delay (hence reordering) and partitions, all driven by one seeded RNG.

Layer: the pure Raft core's test support (etcd-io/raft rafttest/network.go). No I/O.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass

from ._types import Message


@dataclass
class Faults:
    """Per-message fault probabilities and the delay range, in ticks."""

    drop: float = 0.05
    duplicate: float = 0.02
    max_delay: int = 3


class Network:
    """In-flight messages ordered by delivery tick. `blocked` holds (src, dst) pairs
    that are cut: a partition checked both when sending and when delivering."""

    def __init__(self, rng: random.Random, faults: Faults):
        self.rng = rng
        self.faults = faults
        self.blocked: set[tuple[str, str]] = set()
        self._queue: list[tuple[int, int, Message]] = []
        self._seq = 0
        self.sent = self.delivered = 0

    def send(self, msg: Message, now: int) -> None:
        self.sent += 1
        if (msg.src, msg.dst) in self.blocked or self.rng.random() < self.faults.drop:
            return
        copies = 2 if self.rng.random() < self.faults.duplicate else 1
        for _ in range(copies):
            self._seq += 1
            at = now + self.rng.randint(0, self.faults.max_delay)
            heapq.heappush(self._queue, (at, self._seq, msg))

    def pop_due(self, now: int) -> Message | None:
        """Next message due by `now` that crosses no cut link; None when there is none."""
        while self._queue and self._queue[0][0] <= now:
            msg = heapq.heappop(self._queue)[2]
            if (msg.src, msg.dst) not in self.blocked:
                self.delivered += 1
                return msg
        return None

    def partition(self, groups: list[list[str]]) -> None:
        """Cut every link between different groups (both directions)."""
        self.blocked = {(a, b) for g in groups for h in groups if g is not h for a in g for b in h}

    def cut_one_way(self, src: str, dsts: list[str]) -> None:
        self.blocked |= {(src, d) for d in dsts}

    def heal(self) -> None:
        self.blocked = set()

    def in_flight(self) -> int:
        return len(self._queue)
