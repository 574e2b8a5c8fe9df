"""RaftCore: the pure Raft state machine (Raft paper, thesis 9.6 pre-vote, 6.4 read index).

Layer: the pure Raft core. Messages and ticks in; messages, entries to persist,
entries to apply, read states and events out through `ready()`. No sockets, no
clock, no disk: an asyncio shell owns those (etcd-io/raft raft.go and node.go).

Contract with the shell:
- Call `tick()` at a fixed period and `step(msg)` for every message received.
  Messages may be stale, duplicated, reordered or lost.
- While `has_ready()`, take `ready()`, handle it in the order documented on
  `Ready`, then `advance(ready)`. Call `ready()` again only after `advance()`.
  Steps and ticks between `ready()` and `advance()` are allowed.
- Proposals: `propose(data)` returns the index the entry was appended at. If this
  leader loses leadership, the entry may or may not commit; the shell learns the
  outcome only from committed entries: it tags each proposal's data with a unique
  request id, and if an entry with another payload commits at that index, the
  proposal failed (definitely); until then it is indefinite.
- Reads: `read_index(request)` yields `ReadState(request, index)` once a quorum
  confirmed this node still leads (Raft 6.4); serve it after applying `index`.
  Reads pending when leadership is lost come out in `Ready.dropped_reads`: the
  shell answers them not_leader and must never serve them as successful.
- Restart: build a new core from what was persisted (hard state, snapshot,
  entries after it) and the index the shell's state machine already applied.
"""

from __future__ import annotations

import random
from typing import Sequence

from ._config import Config
from ._election import ElectionMixin
from ._log import RaftLog
from ._progress import Progress
from ._readindex import ReadIndexMixin
from ._replication import ReplicationMixin
from ._types import Entry, Event, HardState, Message, MsgType, NotLeader, Ready, Role, Snapshot

M, R = MsgType, Role

# Per-role dispatch of messages whose term equals ours (or, for pre-vote, our next term).
_HANDLERS = {
    R.FOLLOWER: {M.APPEND: "_on_append", M.SNAPSHOT: "_on_snapshot",
                 M.VOTE: "_on_vote_request", M.PRE_VOTE: "_on_vote_request"},
    R.PRE_CANDIDATE: {M.APPEND: "_on_append_as_candidate", M.SNAPSHOT: "_on_snapshot_as_candidate",
                      M.VOTE: "_on_vote_request", M.PRE_VOTE: "_on_vote_request",
                      M.PRE_VOTE_RESP: "_on_vote_response"},
    R.CANDIDATE: {M.APPEND: "_on_append_as_candidate", M.SNAPSHOT: "_on_snapshot_as_candidate",
                  M.VOTE: "_on_vote_request", M.PRE_VOTE: "_on_vote_request",
                  M.VOTE_RESP: "_on_vote_response"},
    R.LEADER: {M.APPEND_RESP: "_on_append_response", M.SNAPSHOT_RESP: "_on_append_response",
               M.VOTE: "_on_vote_request", M.PRE_VOTE: "_on_vote_request"},
}


class RaftCore(ElectionMixin, ReplicationMixin, ReadIndexMixin):
    """One Raft node. Not thread-safe: the shell serialises every call."""

    def __init__(self, config: Config, *, hard_state: HardState = HardState(),
                 entries: Sequence[Entry] = (), snapshot: Snapshot | None = None,
                 applied: int = 0, rng: random.Random):
        config.validate()
        self.cfg = config
        self._rng = rng
        self._log = RaftLog(snapshot, entries)
        if hard_state.commit > self._log.last_index:
            raise ValueError(f"hard_state: commit {hard_state.commit} is beyond the last persisted "
                             f"index {self._log.last_index}; the WAL lost entries")
        self._term, self._voted_for = hard_state.term, hard_state.voted_for
        self._commit = max(hard_state.commit, self._log.offset)
        self._applied = max(applied, self._log.offset)
        self._applying = self._applied
        self._prev_hard_state = HardState(self._term, self._voted_for, self._commit)
        self._msgs: list[Message] = []
        self._events: list[Event] = []
        self._role, self._leader = R.FOLLOWER, None
        self._progress: dict[str, Progress] = {}
        self._votes: dict[str, bool] = {}
        self._ticks = 0
        self._init_reads()
        self._reset(self._term)

    # read-only view -------------------------------------------------------
    id = property(lambda self: self.cfg.id)
    role = property(lambda self: self._role)
    term = property(lambda self: self._term)
    leader = property(lambda self: self._leader)
    commit = property(lambda self: self._commit)
    applied = property(lambda self: self._applied)
    last_index = property(lambda self: self._log.last_index)
    snapshot_index = property(lambda self: self._log.offset)

    def status(self) -> dict:
        return {"id": self.id, "role": self._role.value, "term": self._term, "leader": self._leader,
                "commit": self._commit, "applied": self._applied, "last_index": self.last_index,
                "snapshot_index": self.snapshot_index, "members": list(self.cfg.peers)}

    # inputs ---------------------------------------------------------------
    def tick(self) -> None:
        if self._role is R.LEADER:
            self._tick_leader()
        else:
            self._tick_election()

    def step(self, msg: Message) -> None:
        """Feed one message from another node; unknown senders are ignored."""
        if msg.dst != self.id or msg.src not in self.cfg.peers or msg.src == self.id:
            return
        if msg.term > self._term and not self._accept_higher_term(msg):
            return
        if msg.term < self._term:
            self._answer_stale(msg)
            return
        name = _HANDLERS[self._role].get(msg.type)
        if name:
            getattr(self, name)(msg)

    def propose(self, data: bytes) -> int:
        """Leader only: append data, return its index. Raises NotLeader(leader_or_None)."""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"data: must be bytes, got {type(data).__name__}")
        if self._role is not R.LEADER:
            raise NotLeader(self._leader)
        return self._append_and_broadcast(bytes(data))

    def compact(self, index: int, data: bytes) -> None:
        """The shell snapshotted its applied state at index: keep that snapshot (sent to
        laggards) and drop entries <= index. Persist the snapshot before calling this."""
        if index <= self._log.offset:
            return
        if index > self._applied or index > self._log.stable:
            raise ValueError(f"index: {index} is beyond applied {self._applied} or persisted "
                             f"{self._log.stable}; compact only applied, persisted entries")
        self._log.compact(Snapshot(index, self._log.term(index), bytes(data)))

    # Ready ----------------------------------------------------------------
    def _hard_state(self) -> HardState:
        return HardState(self._term, self._voted_for, self._commit)

    def has_ready(self) -> bool:
        return bool(self._msgs or self._events or self._read_states or self._dropped_reads
                    or self._log.pending_snapshot or self._log.stable < self._log.last_index
                    or self._hard_state() != self._prev_hard_state or self._commit > self._applying)

    def ready(self) -> Ready:
        hs = self._hard_state()
        snap = self._log.pending_snapshot
        lo = max(self._applying, snap.index if snap else 0) + 1
        rd = Ready(hard_state=hs if hs != self._prev_hard_state else None,
                   entries=self._log.unstable(), snapshot=snap, messages=self._msgs,
                   committed=self._log.slice(lo, self._commit), read_states=self._read_states,
                   events=self._events, dropped_reads=self._dropped_reads)
        self._applying = max(self._applying, self._commit)
        self._msgs, self._events, self._read_states, self._dropped_reads = [], [], [], []
        return rd

    def advance(self, ready: Ready) -> None:
        """The shell persisted, sent and applied `ready` (in that order)."""
        if ready.snapshot is not None:
            if self._log.pending_snapshot is ready.snapshot:
                self._log.pending_snapshot = None
            self._applied = max(self._applied, ready.snapshot.index)
        if ready.hard_state is not None:
            self._prev_hard_state = ready.hard_state
        if ready.committed:
            self._applied = max(self._applied, ready.committed[-1].index)
        self._applying = max(self._applying, self._applied)
        if ready.entries:
            last = ready.entries[-1]
            if self._log.stable_to(last.index, last.term) and self._role is R.LEADER:
                self._progress[self.id].update(self._log.stable)
                self._maybe_commit()

    # terms and roles ------------------------------------------------------
    def _accept_higher_term(self, msg: Message) -> bool:
        """A message from a higher term: follow it unless it is a disruptive vote."""
        if msg.type in (M.VOTE, M.PRE_VOTE) and self._in_lease(msg.type):
            if msg.type is M.PRE_VOTE:
                self._send(msg.src, M.PRE_VOTE_RESP, reject=True)
            return False
        if msg.type is M.PRE_VOTE or (msg.type is M.PRE_VOTE_RESP and not msg.reject):
            return True          # pre-vote never changes terms (thesis 9.6)
        leader = msg.src if msg.type in (M.APPEND, M.SNAPSHOT) else None
        self._become_follower(msg.term, leader)
        return True

    def _answer_stale(self, msg: Message) -> None:
        """Tell a sender from an older term about ours so it steps down (Raft 5.1)."""
        replies = {M.APPEND: M.APPEND_RESP, M.SNAPSHOT: M.SNAPSHOT_RESP,
                   M.VOTE: M.VOTE_RESP, M.PRE_VOTE: M.PRE_VOTE_RESP}
        if msg.type in replies:
            self._send(msg.src, replies[msg.type], reject=True, index=msg.index)

    def _reset(self, term: int) -> None:
        if term != self._term:
            self._term, self._voted_for = term, None
        self._leader = None
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._timeout = self._rng.randrange(self.cfg.election_ticks, 2 * self.cfg.election_ticks)
        self._votes = {}
        self._progress = {}

    def _set_role(self, role: Role, term: int) -> None:
        if self._role is R.LEADER and role is not R.LEADER:
            self._drop_reads()
        changed = role is not self._role or term != self._term
        self._reset(term)
        self._role = role
        if changed:
            self._event(f"became_{role.value}")

    def _become_follower(self, term: int, leader: str | None) -> None:
        self._set_role(R.FOLLOWER, term)
        self._leader = leader

    def _become_leader(self) -> None:
        self._set_role(R.LEADER, self._term)
        self._leader = self.id
        last = self._log.last_index
        for peer in self.cfg.peers:
            self._progress[peer] = Progress(match=0, next=last + 1, last_heard=self._ticks)
        self._progress[self.id].update(self._log.stable)
        self._append_and_broadcast(None)          # the no-op commits earlier terms (Raft 5.4.2, 8)

    # helpers --------------------------------------------------------------
    def _send(self, to: str, mtype: MsgType, **fields) -> None:
        fields.setdefault("term", self._term)
        self._msgs.append(Message(type=mtype, src=self.id, dst=to, **fields))

    def _event(self, kind: str, **detail) -> None:
        self._events.append(Event(kind, self._term, detail))

    def _others(self):
        return (p for p in self.cfg.peers if p != self.id)

    def _quorum(self) -> int:
        return self.cfg.quorum

    def _bug(self, name: str) -> bool:
        return name in self.cfg.bugs
