"""Value types of the pure Raft core: entries, messages, persistent state, Ready batches.

Layer: the bottom (pure). No sockets, no clocks, no disk. The asyncio shell in
`emulator/` is the only thing that turns these into I/O. Shapes follow
etcd-io/raft (Node, Ready, Storage) so readers of that code feel at home.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class MsgType(str, enum.Enum):
    PRE_VOTE = "pre_vote"            # Raft thesis 9.6: ask "would you vote for me?" without bumping terms
    PRE_VOTE_RESP = "pre_vote_resp"
    VOTE = "vote"                    # RequestVote (Raft 5.2)
    VOTE_RESP = "vote_resp"
    APPEND = "append"                # AppendEntries; an empty one is a heartbeat (Raft 5.3)
    APPEND_RESP = "append_resp"
    SNAPSHOT = "snapshot"            # InstallSnapshot (Raft 7)
    SNAPSHOT_RESP = "snapshot_resp"


class Role(str, enum.Enum):
    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre_candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass(frozen=True)
class Entry:
    """One log entry. `data` None is the no-op a new leader appends (Raft 8)."""

    term: int
    index: int
    data: bytes | None = None


@dataclass(frozen=True)
class Snapshot:
    """State machine image covering the log up to and including `index`."""

    index: int
    term: int
    data: bytes


@dataclass(frozen=True)
class HardState:
    """What must be on disk before any message that depends on it is sent (Raft Figure 2)."""

    term: int = 0
    voted_for: str | None = None
    commit: int = 0


@dataclass(frozen=True)
class Message:
    """A Raft RPC or its reply. Fields unused by a type keep their defaults.

    - vote / pre_vote: `log_term`, `index` = candidate's last log term and index;
      pre_vote carries the term the sender *would* campaign at.
    - vote_resp / pre_vote_resp / append_resp / snapshot_resp: `reject`.
    - append: `log_term`, `index` = term and index of the entry preceding
      `entries`; `commit` = leader's commit index; `context` echoes a read-index
      round (heartbeat) so the leader can confirm it still leads.
    - append_resp: `index` = last index matched (or on reject, a hint: the
      follower's last index); `context` echoed.
      On reject, `index` is the rejected probe index (the leader's `index`), and
      `reject_hint` / `log_term` name the follower's best guess of where the logs
      may agree: the largest index <= the probe with a term <= the probe's term
      (etcd-io/raft findConflictByTerm), so a divergent tail is skipped in one step.
    - snapshot: `snapshot`. snapshot_resp: `index` = the follower's last index after it.
    """

    type: MsgType
    src: str
    dst: str
    term: int
    log_term: int = 0
    index: int = 0
    commit: int = 0
    entries: tuple[Entry, ...] = ()
    reject: bool = False
    snapshot: Snapshot | None = None
    context: int = 0
    reject_hint: int = 0


@dataclass(frozen=True)
class ReadState:
    """A linearizable read may be served once the node has applied `index` (Raft 6.4)."""

    request: object
    index: int


@dataclass(frozen=True)
class Event:
    """A lifecycle event for events.jsonl: kind is one of became_follower,
    became_pre_candidate, became_candidate, became_leader, election_timeout,
    check_quorum_step_down, snapshot_installed, vote_granted. `detail` is JSON-able."""

    kind: str
    term: int
    detail: dict = field(default_factory=dict)


@dataclass
class Ready:
    """One batch of work for the shell, to be handled strictly in this order:

    1. persist `snapshot` (if any), then append `entries` to the WAL (an entry whose
       index already exists replaces that entry and everything after it), then persist
       `hard_state` (if not None); fsync.
    2. send `messages`.
    3. apply `committed` entries to the state machine, in order (never beyond what was
       persisted in step 1 on this node's commit index).
    4. serve `read_states` once applied index >= their index; answer every request in
       `dropped_reads` with not_leader / indefinite (leadership was lost before the read
       was confirmed: it must not be served as successful).
    5. write `events`, then call `RaftCore.advance(ready)`.

    If `snapshot` is set the node installed it (a leader sent it): in step 3 the shell
    first replaces its state machine with `snapshot.data` (its applied index becomes
    `snapshot.index`), then applies `committed` (all of which follow the snapshot).
    """

    hard_state: HardState | None = None
    entries: list[Entry] = field(default_factory=list)
    snapshot: Snapshot | None = None
    messages: list[Message] = field(default_factory=list)
    committed: list[Entry] = field(default_factory=list)
    read_states: list[ReadState] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    dropped_reads: list[object] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.hard_state or self.entries or self.snapshot or self.messages
                    or self.committed or self.read_states or self.events
                    or self.dropped_reads)


class NotLeader(Exception):
    """propose / read_index on a node that is not the leader; `leader` is its best guess or None."""

    def __init__(self, leader: str | None):
        super().__init__(f"not leader (leader: {leader})")
        self.leader = leader
