"""Linearizable reads by read index (Raft thesis 6.4; etcd-io/raft read_only.go).

Layer: the pure Raft core. A mixin of RaftCore.

A read registered at sequence number s remembers the leader's commit index. Every
append sent afterwards carries context >= s, and a follower echoes it, so a reply
with context >= s from the current term proves that follower still followed us
after the read arrived. Once a quorum (self included) has, no other leader can have
committed anything newer, and the read may be served at the remembered index. A
leader first waits until it has committed an entry of its own term, because only
then is its commit index at least every index committed before it was elected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._types import NotLeader, ReadState, Role


@dataclass
class _PendingRead:
    seq: int
    request: object
    index: int
    acks: set = field(default_factory=set)


class ReadIndexMixin:
    def _init_reads(self) -> None:
        self._read_seq = 0
        self._pending_reads: list[_PendingRead] = []
        self._reads_awaiting_commit: list[object] = []
        self._read_states: list[ReadState] = []
        self._dropped_reads: list[object] = []

    def read_index(self, request: object) -> None:
        """Leader only: a ReadState(request, index) comes out of ready() once leadership
        is confirmed. Raises NotLeader(leader_or_None) on any other node."""
        if self._role is not Role.LEADER:
            raise NotLeader(self._leader)
        if not self._committed_in_term():
            self._reads_awaiting_commit.append(request)
        elif self._bug("lease-no-check-quorum"):
            # planted bug: trusts a lease that nothing re-checks
            self._read_states.append(ReadState(request, self._commit))
        else:
            self._register_reads([request])

    def _committed_in_term(self) -> bool:
        return self._log.term(self._commit) == self._term

    def _register_reads(self, requests: list[object]) -> None:
        if self._quorum() == 1:
            self._read_states.extend(ReadState(r, self._commit) for r in requests)
            return
        self._read_seq += 1
        for request in requests:
            self._pending_reads.append(_PendingRead(self._read_seq, request, self._commit, {self.id}))
        for peer in self._others():
            self._send_heartbeat(peer)

    def _on_commit_in_term(self) -> None:
        """The leader's commit moved into its own term: queued reads may go ahead."""
        waiting, self._reads_awaiting_commit = self._reads_awaiting_commit, []
        if waiting:
            if self._bug("lease-no-check-quorum"):
                self._read_states.extend(ReadState(r, self._commit) for r in waiting)
            else:
                self._register_reads(waiting)

    def _ack_reads(self, peer: str, context: int) -> None:
        """A current-term reply echoing `context` confirms every read with seq <= context.
        Acks of a later read are a subset of an earlier one's, so release from the front."""
        if not context or not self._pending_reads:
            return
        for read in self._pending_reads:
            if read.seq <= context:
                read.acks.add(peer)
        while self._pending_reads and len(self._pending_reads[0].acks) >= self._quorum():
            read = self._pending_reads.pop(0)
            self._read_states.append(ReadState(read.request, read.index))

    def _drop_reads(self) -> None:
        """Leadership is lost: pending reads must never be answered as successful."""
        self._dropped_reads.extend(r.request for r in self._pending_reads)
        self._dropped_reads.extend(self._reads_awaiting_commit)
        self._pending_reads, self._reads_awaiting_commit = [], []

