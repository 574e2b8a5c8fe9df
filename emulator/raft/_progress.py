"""The leader's view of each follower's log (etcd-io/raft tracker/progress.go, reduced).

Layer: the pure Raft core. No I/O.

States:
- probe: the leader does not know where the logs agree; one append in flight at a
  time (`paused` until any reply), backing off with the follower's reject hint.
- replicate: the logs agree up to `match`; appends are pipelined, `next` runs ahead.
- snapshot: a snapshot at `pending_snapshot` was sent; wait for the reply, resend
  after `resend_ticks` if it seems lost.
"""

from __future__ import annotations

from dataclasses import dataclass

PROBE, REPLICATE, SNAPSHOT = "probe", "replicate", "snapshot"


@dataclass
class Progress:
    match: int = 0
    next: int = 1
    state: str = PROBE
    paused: bool = False
    pending_snapshot: int = 0
    snapshot_sent_at: int = 0          # leader tick of the last snapshot send
    last_heard: int = 0                # leader tick of the last message from this peer
    progress_at: int = 0               # leader tick when match last grew or a pipeline started

    def become_probe(self) -> None:
        self.state = PROBE
        self.next = self.match + 1
        self.paused = False
        self.pending_snapshot = 0

    def become_replicate(self) -> None:
        self.state = REPLICATE
        self.next = self.match + 1
        self.paused = False

    def become_snapshot(self, index: int, now: int) -> None:
        self.state = SNAPSHOT
        self.pending_snapshot = index
        self.snapshot_sent_at = now
        self.paused = True

    def update(self, index: int) -> bool:
        """The follower acknowledged entries up to index; True if match grew."""
        self.next = max(self.next, index + 1)
        if index > self.match:
            self.match = index
            return True
        return False

    def is_stale_reject(self, rejected: int) -> bool:
        """A reject that answers an older probe than the one outstanding."""
        if rejected <= self.match:
            return True
        return self.state != REPLICATE and rejected != self.next - 1

    def back_off(self, rejected: int, hint: int) -> None:
        """After a genuine reject of the probe at `rejected`: probe again below it, from
        the hint, never below match+1 (the follower holds match)."""
        self.state = PROBE
        self.next = max(self.match + 1, min(rejected, hint + 1))
        self.paused = False
        self.pending_snapshot = 0


def quorum_index(matches: list[int], quorum: int) -> int:
    """Largest index held by at least `quorum` of the voters (Raft 5.3 commit rule)."""
    return sorted(matches, reverse=True)[quorum - 1]
