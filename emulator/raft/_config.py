"""Configuration of one Raft node, validated at start-up (etcd-io/raft Config.validate).

Layer: the pure Raft core. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

KNOWN_BUGS = frozenset({"vote-twice", "lease-no-check-quorum"})
"""Planted bugs, off by default, each a realistic mistake that only shows under faults:

- vote-twice: a voter checks the candidate's log but forgets voted_for, so it may
  grant two votes in one term (two leaders in a term when candidates race).
- lease-no-check-quorum: the leader trusts a lease it never re-checks: it does not
  step down when it loses the quorum and answers read_index from its own commit
  index at once (an isolated leader serves stale reads).
"""


@dataclass(frozen=True)
class Config:
    """Ticks are the only notion of time: the shell calls `tick()` at a fixed period.

    - id: this node; peers: all voter ids, including id.
    - election_ticks: the election timeout is drawn from [election_ticks, 2*election_ticks).
    - heartbeat_ticks: a leader heartbeats every this many ticks (< election_ticks).
    - pre_vote: Raft thesis 9.6; check_quorum: a leader that has not heard from a
      majority within election_ticks steps down (the split-brain defence).
    - max_entries_per_append: bound of one AppendEntries message.
    - bugs: planted bugs to enable (see KNOWN_BUGS).
    """

    id: str
    peers: tuple[str, ...]
    election_ticks: int = 10
    heartbeat_ticks: int = 1
    pre_vote: bool = True
    check_quorum: bool = True
    max_entries_per_append: int = 256
    bugs: frozenset[str] = frozenset()

    def validate(self) -> None:
        """Raise ValueError naming the first broken rule's field, value and expectation."""
        for problem in self._problems():
            raise ValueError(problem)

    def _problems(self):
        if not isinstance(self.id, str) or not self.id:
            yield f"id: must be a non-empty string, got {self.id!r}"
        if not isinstance(self.peers, tuple) or not all(isinstance(p, str) and p for p in self.peers):
            yield f"peers: must be a tuple of non-empty strings, got {self.peers!r}"
        elif len(set(self.peers)) != len(self.peers):
            yield f"peers: duplicate ids in {self.peers!r}; list each voter once"
        elif self.id not in self.peers:
            yield f"peers: must include this node's id {self.id!r}, got {self.peers!r}"
        if not _positive_int(self.heartbeat_ticks):
            yield f"heartbeat_ticks: must be an integer >= 1, got {self.heartbeat_ticks!r}"
        if not _positive_int(self.election_ticks):
            yield f"election_ticks: must be an integer >= 1, got {self.election_ticks!r}"
        elif _positive_int(self.heartbeat_ticks) and self.election_ticks <= self.heartbeat_ticks:
            yield (f"election_ticks: must be greater than heartbeat_ticks ({self.heartbeat_ticks}), "
                   f"got {self.election_ticks}")
        if not _positive_int(self.max_entries_per_append):
            yield f"max_entries_per_append: must be an integer >= 1, got {self.max_entries_per_append!r}"
        unknown = set(self.bugs) - KNOWN_BUGS
        if unknown:
            yield f"bugs: unknown {sorted(unknown)}; known bugs are {sorted(KNOWN_BUGS)}"

    @property
    def quorum(self) -> int:
        return len(self.peers) // 2 + 1


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
