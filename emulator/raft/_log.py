"""The in-memory Raft log: a snapshot followed by entries, plus what is persisted.

Layer: the pure Raft core. No I/O: the shell persists what `unstable()` returns and
reports it back through `stable_to()` (etcd-io/raft log.go and log_unstable.go, merged).

Indexes start at 1; index 0 (term 0) is the empty prefix every log matches.
"""

from __future__ import annotations

from typing import Sequence

from ._types import Entry, Snapshot


class RaftLog:
    """Entries after `snapshot` (if any). `stable` is the last index known persisted."""

    def __init__(self, snapshot: Snapshot | None = None, entries: Sequence[Entry] = ()):
        self.snapshot = snapshot
        self.offset = snapshot.index if snapshot else 0      # index covered by the snapshot
        self.offset_term = snapshot.term if snapshot else 0
        self.entries: list[Entry] = []
        for e in entries:
            if e.index != self.offset + len(self.entries) + 1:
                raise ValueError(f"entries: index {e.index} does not follow index "
                                 f"{self.offset + len(self.entries)}; the log must be contiguous")
            self.entries.append(e)
        self.stable = self.last_index
        self.pending_snapshot: Snapshot | None = None        # installed, not yet persisted

    @property
    def first_index(self) -> int:
        return self.offset + 1

    @property
    def last_index(self) -> int:
        return self.offset + len(self.entries)

    @property
    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.offset_term

    def term(self, index: int) -> int | None:
        """Term of the entry at index; None if compacted away or beyond the end."""
        if index == self.offset:
            return self.offset_term
        if index < self.offset or index > self.last_index:
            return None
        return self.entries[index - self.offset - 1].term

    def match_term(self, index: int, term: int) -> bool:
        return self.term(index) == term

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Raft 5.4.1: a candidate's log is at least as up-to-date as ours."""
        return last_term > self.last_term or (last_term == self.last_term and last_index >= self.last_index)

    def slice(self, lo: int, hi: int) -> list[Entry]:
        """Entries with lo <= index <= hi (both clipped to what is held)."""
        lo = max(lo, self.first_index)
        hi = min(hi, self.last_index)
        return self.entries[lo - self.offset - 1: hi - self.offset] if lo <= hi else []

    def append(self, entries: Sequence[Entry]) -> None:
        """Append entries; one whose index is held replaces it and everything after."""
        if not entries:
            return
        first = entries[0].index
        if first <= self.offset or first > self.last_index + 1:
            raise ValueError(f"append at index {first} outside ({self.offset}, {self.last_index + 1}]")
        del self.entries[first - self.offset - 1:]
        self.entries.extend(entries)
        self.stable = min(self.stable, first - 1)

    def find_conflict(self, entries: Sequence[Entry]) -> int:
        """Index of the first entry that is new or differs in term; 0 if all are held."""
        for e in entries:
            if e.index > self.offset and not self.match_term(e.index, e.term):
                return e.index
        return 0

    def conflict_hint(self, index: int, term: int) -> tuple[int, int]:
        """Largest (i, term(i)) with i <= index and term(i) <= term (etcd findConflictByTerm)."""
        i = min(index, self.last_index)
        while i > self.offset:
            t = self.term(i)
            if t <= term:
                return i, t
            i -= 1
        return self.offset, self.offset_term

    def unstable(self) -> list[Entry]:
        return self.slice(self.stable + 1, self.last_index)

    def stable_to(self, index: int, term: int) -> bool:
        """The shell persisted up to (index, term); ignored if the log changed since."""
        if self.match_term(index, term) and index > self.stable:
            self.stable = index
            return True
        return False

    def restore(self, snapshot: Snapshot) -> None:
        """Replace the whole log with a snapshot received from the leader (Raft 7)."""
        self.snapshot = snapshot
        self.pending_snapshot = snapshot
        self.offset, self.offset_term = snapshot.index, snapshot.term
        self.entries = []
        self.stable = snapshot.index

    def compact(self, snapshot: Snapshot) -> None:
        """Keep `snapshot` and drop the entries it covers (the shell snapshotted them)."""
        self.entries = self.entries[snapshot.index - self.offset:]
        self.snapshot = snapshot
        self.offset, self.offset_term = snapshot.index, snapshot.term
