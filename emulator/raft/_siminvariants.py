"""Raft's safety properties (Raft paper Figure 3), checked continuously by the simulation.

Layer: the pure Raft core's test support. No I/O. Each check raises SafetyViolation
naming the property, the nodes and the values involved.

- Election safety (5.2): at most one leader per term, over the whole run.
- Log matching (5.3): two logs holding an entry with the same index and term agree
  on its data and on the term of the entry before it, hence (by induction) on the
  whole prefix.
- Leader completeness (5.4): every entry known committed is in the log of every
  leader of a later term.
- State machine safety (5.4.3): no two nodes apply different entries at one index.
- Linearizable reads (thesis 6.4): a read answered at index i covers every entry
  committed anywhere before the read was requested.
"""

from __future__ import annotations

import hashlib

from ._log import RaftLog
from ._types import Entry


class SafetyViolation(AssertionError):
    """A Raft safety property failed; the message names it and the values."""


def chain(prev: str, entry_term: int, data: bytes | None) -> str:
    """Running hash of a state machine that applied entries in order."""
    h = hashlib.blake2b(prev.encode(), digest_size=8)
    h.update(repr((entry_term, data)).encode())
    return h.hexdigest()


class Invariants:
    def __init__(self):
        self.leaders: dict[int, str] = {}                          # term -> leader
        self.entries: dict[tuple[int, int], tuple] = {}            # (index, term) -> (data, prev term, who)
        self.committed: dict[int, tuple[int, bytes | None]] = {}   # index -> (term, data)
        self.chains: dict[int, str] = {0: ""}                      # index -> state machine hash
        self.max_commit = 0
        self.reads: dict[object, tuple[str, int]] = {}             # request -> (node, required index)
        self.reads_served = self.reads_dropped = self.elections = 0

    def became_leader(self, node: str, term: int, log: RaftLog) -> None:
        self.elections += 1
        other = self.leaders.setdefault(term, node)
        if other != node:
            raise SafetyViolation(f"election safety (Raft 5.2): {other} and {node} both leaders in term {term}")
        self.leader_has_committed(node, term, log)

    def leader_has_committed(self, node: str, term: int, log: RaftLog) -> None:
        for index, (eterm, _) in self.committed.items():
            if eterm < term and index > log.offset and log.term(index) != eterm:
                raise SafetyViolation(
                    f"leader completeness (Raft 5.4): leader {node} of term {term} lacks committed "
                    f"entry {index} of term {eterm} (its log has term {log.term(index)})")

    def persisted(self, node: str, entries: list[Entry], log: RaftLog) -> None:
        for e in entries:
            prev = log.term(e.index - 1)
            seen = self.entries.setdefault((e.index, e.term), (e.data, prev, node))
            if seen[:2] != (e.data, prev):
                raise SafetyViolation(
                    f"log matching (Raft 5.3): entry {e.index} term {e.term} is {e.data!r} after term {prev} "
                    f"on {node} but {seen[0]!r} after term {seen[1]} on {seen[2]}")

    def applied(self, node: str, entry: Entry, prev_chain: str, leaders: list) -> str:
        """`leaders`: (node, term, log) of the live leaders. Returns the new state hash."""
        known = self.committed.setdefault(entry.index, (entry.term, entry.data))
        if known != (entry.term, entry.data):
            raise SafetyViolation(
                f"state machine safety (Raft 5.4.3): {node} applied {(entry.term, entry.data)!r} at index "
                f"{entry.index} where another node applied {known!r}")
        h = self.chains.setdefault(entry.index, chain(prev_chain, entry.term, entry.data))
        if h != chain(prev_chain, entry.term, entry.data):
            raise SafetyViolation(f"state machine safety (Raft 5.4.3): {node}'s state at index "
                                  f"{entry.index} differs from another node's")
        for leader, term, log in leaders:
            if term > entry.term and entry.index > log.offset and log.term(entry.index) != entry.term:
                raise SafetyViolation(
                    f"leader completeness (Raft 5.4): leader {leader} of term {term} lacks committed "
                    f"entry {entry.index} of term {entry.term} (its log has term {log.term(entry.index)})")
        return h

    def installed(self, node: str, index: int, state: str) -> None:
        known = self.chains.setdefault(index, state)
        if known != state:
            raise SafetyViolation(f"state machine safety (Raft 7): snapshot at {index} installed on "
                                  f"{node} differs from the state other nodes applied")

    def read_requested(self, node: str, request: object) -> None:
        self.reads[request] = (node, self.max_commit)

    def read_served(self, node: str, request: object, index: int, applied: int) -> None:
        asked_at, required = self.reads.pop(request)
        self.reads_served += 1
        if index < required or applied < index:
            raise SafetyViolation(
                f"linearizable read (Raft 6.4): {node} answered read {request!r} at index {index} "
                f"(applied {applied}) but index {required} was committed before the read was requested")

    def read_dropped(self, request: object) -> None:
        self.reads.pop(request)
        self.reads_dropped += 1
