"""Log replication, commitment and snapshots (Raft 5.3, 5.4.2, 7); check-quorum.

Layer: the pure Raft core. A mixin of RaftCore: the leader side (sending appends,
heartbeats and snapshots, counting matches) and the follower side (accepting
appends and snapshots). Only emits messages and events.
"""

from __future__ import annotations

from ._progress import PROBE, REPLICATE, SNAPSHOT, quorum_index
from ._types import Entry, Message, MsgType, Role

M, R = MsgType, Role


class ReplicationMixin:
    # leader: time -----------------------------------------------------------
    def _tick_leader(self) -> None:
        self._ticks += 1
        self._election_elapsed = (self._election_elapsed + 1) % self.cfg.election_ticks
        if self.cfg.check_quorum and not self._bug("lease-no-check-quorum") and not self._quorum_active():
            self._event("check_quorum_step_down")
            self._become_follower(self._term, None)
            return
        self._heartbeat_elapsed += 1
        if self._heartbeat_elapsed >= self.cfg.heartbeat_ticks:
            self._heartbeat_elapsed = 0
            for peer in self._others():
                self._send_heartbeat(peer)

    def _quorum_active(self) -> bool:
        """Check-quorum: heard from a majority (self included) within the election timeout."""
        recent = sum(1 for peer, pr in self._progress.items()
                     if peer == self.id or self._ticks - pr.last_heard < self.cfg.election_ticks)
        return recent >= self._quorum()

    # leader: sending --------------------------------------------------------
    def _append_and_broadcast(self, data: bytes | None) -> int:
        index = self._log.last_index + 1
        self._log.append([Entry(self._term, index, data)])
        for peer in self._others():
            self._send_append(peer)
        return index

    def _send_append(self, peer: str) -> None:
        pr = self._progress[peer]
        if pr.paused:
            return
        pr.next = min(pr.next, self._log.last_index + 1)
        prev = pr.next - 1
        prev_term = self._log.term(prev)
        if prev_term is None:
            self._send_snapshot(peer)
            return
        entries = tuple(self._log.slice(pr.next, pr.next + self.cfg.max_entries_per_append - 1))
        self._send(peer, M.APPEND, index=prev, log_term=prev_term, entries=entries,
                   commit=self._commit, context=self._read_seq)
        if pr.state == PROBE:
            pr.paused = True
        elif entries:
            if pr.next == pr.match + 1:
                pr.progress_at = self._ticks       # a new pipeline starts now
            pr.next = entries[-1].index + 1

    def _send_snapshot(self, peer: str) -> None:
        snap = self._log.snapshot
        self._progress[peer].become_snapshot(snap.index, self._ticks)
        self._send(peer, M.SNAPSHOT, snapshot=snap, context=self._read_seq)

    def _send_heartbeat(self, peer: str) -> None:
        """An empty append at a point the follower surely holds; it carries
        commit = min(leader commit, follower match) as etcd's heartbeat does."""
        hb = min(self._commit, self._progress[peer].match)
        hb_term = self._log.term(hb)
        if hb_term is None:
            hb = hb_term = 0
        self._send(peer, M.APPEND, index=hb, log_term=hb_term, commit=hb, context=self._read_seq)

    # leader: replies --------------------------------------------------------
    def _on_append_response(self, msg: Message) -> None:
        pr = self._progress.get(msg.src)
        if pr is None:
            return
        pr.last_heard = self._ticks
        self._ack_reads(msg.src, msg.context)
        if msg.reject:
            self._on_reject(msg)
        elif pr.update(msg.index):
            self._on_progress(msg.src)
        else:
            self._on_no_progress(msg.src)

    def _on_reject(self, msg: Message) -> None:
        pr = self._progress[msg.src]
        if pr.is_stale_reject(msg.index):
            return
        hint = msg.reject_hint
        if msg.log_term:
            hint = self._log.conflict_hint(hint, msg.log_term)[0]
        pr.back_off(msg.index, hint)
        self._send_append(msg.src)

    def _on_progress(self, peer: str) -> None:
        pr = self._progress[peer]
        pr.progress_at = self._ticks
        if pr.state == PROBE or (pr.state == SNAPSHOT and pr.match >= pr.pending_snapshot):
            pr.become_replicate()
        if not self._maybe_commit():
            self._send_more(peer)

    def _on_no_progress(self, peer: str) -> None:
        """A reply that acknowledged nothing new (a heartbeat's, or a duplicate)."""
        pr = self._progress[peer]
        if pr.state == SNAPSHOT:
            if self._ticks - pr.snapshot_sent_at >= self.cfg.election_ticks:
                pr.become_probe()                  # the snapshot seems lost: send it again
        elif pr.state == PROBE:
            pr.paused = False
        elif pr.match < self._log.last_index and pr.next > pr.match + 1 \
                and self._ticks - pr.progress_at >= 2 * self.cfg.heartbeat_ticks:
            pr.become_probe()                      # the pipeline stalled: appends were lost
        self._send_more(peer)

    def _send_more(self, peer: str) -> None:
        pr = self._progress[peer]
        if pr.match < self._log.last_index and (pr.state != REPLICATE or pr.next <= self._log.last_index):
            self._send_append(peer)

    def _maybe_commit(self) -> bool:
        """Raft 5.3 and 5.4.2: commit the quorum-held index, but only by counting
        replicas of an entry of the current term. True if the commit index moved
        (then every follower hears about it)."""
        matches = [pr.match for pr in self._progress.values()]
        index = quorum_index(matches, self._quorum())
        if index <= self._commit or self._log.term(index) != self._term:
            return False
        self._commit = index
        self._on_commit_in_term()
        for peer in self._others():
            if self._progress[peer].match < self._log.last_index:
                self._send_more(peer)
            else:
                self._send_heartbeat(peer)
        return True

    # follower ---------------------------------------------------------------
    def _on_append_as_candidate(self, msg: Message) -> None:
        self._become_follower(self._term, msg.src)
        self._on_append(msg)

    def _on_snapshot_as_candidate(self, msg: Message) -> None:
        self._become_follower(self._term, msg.src)
        self._on_snapshot(msg)

    def _heard_from_leader(self, leader: str) -> None:
        self._election_elapsed = 0
        self._leader = leader

    def _on_append(self, msg: Message) -> None:
        """AppendEntries receiver (Raft 5.3, Figure 2)."""
        self._heard_from_leader(msg.src)
        reply = {"context": msg.context}
        if msg.index < self._commit:
            self._send(msg.src, M.APPEND_RESP, index=self._commit, **reply)
        elif self._log.match_term(msg.index, msg.log_term):
            self._accept_entries(msg.entries)
            last_new = msg.index + len(msg.entries)
            self._commit = max(self._commit, min(msg.commit, last_new))
            self._send(msg.src, M.APPEND_RESP, index=last_new, **reply)
        else:
            hint, hint_term = self._log.conflict_hint(msg.index, msg.log_term)
            self._send(msg.src, M.APPEND_RESP, reject=True, index=msg.index,
                       reject_hint=hint, log_term=hint_term, **reply)

    def _accept_entries(self, entries: tuple[Entry, ...]) -> None:
        conflict = self._log.find_conflict(entries)
        if not conflict:
            return
        if conflict <= self._commit:
            raise AssertionError(f"{self.id}: entry {conflict} conflicts with committed {self._commit}")
        self._log.append([e for e in entries if e.index >= conflict])

    def _on_snapshot(self, msg: Message) -> None:
        """InstallSnapshot receiver (Raft 7)."""
        self._heard_from_leader(msg.src)
        snap = msg.snapshot
        if snap.index <= self._commit:
            index = self._commit
        elif self._log.match_term(snap.index, snap.term):
            self._commit = index = snap.index      # we hold it all: just commit
        else:
            self._log.restore(snap)
            self._commit = index = snap.index
            self._event("snapshot_installed", index=snap.index, snapshot_term=snap.term)
        self._send(msg.src, M.SNAPSHOT_RESP, index=index, context=msg.context)
