"""Deterministic simulation of a cluster of RaftCores (etcd-io/raft rafttest, FoundationDB style).

Layer: the pure Raft core's test support. No I/O: one seeded RNG drives the network
(loss, duplication, delay, partitions), crashes and restarts, clocks that skip ticks,
client proposals and reads, and snapshots. Each node plays its shell's part exactly
as `Ready` documents it, with a "disk" that holds only what went through a Ready
(and the snapshots the shell itself took). A crash loses everything else, including
a Ready caught after persisting but before sending. Raft's safety properties are
checked after every Ready (see `_siminvariants`); a violation raises SafetyViolation
whose message starts with the seed that reproduces it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ._config import Config
from ._core import RaftCore
from ._siminvariants import Invariants, SafetyViolation
from ._simnet import Faults, Network
from ._types import Entry, Event, HardState, NotLeader, Ready, Role, Snapshot


@dataclass
class Options:
    nodes: int = 3
    steps: int = 2000                 # one step = one tick of simulated time
    faults: Faults = field(default_factory=Faults)
    partition_rate: float = 0.01      # per step, while the network is whole
    heal_rate: float = 0.03           # per step, while partitioned
    crash_rate: float = 0.004
    restart_rate: float = 0.04
    torn_ready_rate: float = 0.002    # crash after persisting a Ready, before sending it
    propose_rate: float = 0.3
    read_rate: float = 0.15
    compact_rate: float = 0.02
    compact_min: int = 16             # entries applied beyond the snapshot before compacting
    tick_skip: float = 0.05           # clock drift: a node misses a tick
    election_ticks: int = 10
    heartbeat_ticks: int = 2
    max_entries_per_append: int = 8
    pre_vote: bool = True
    check_quorum: bool = True
    bugs: frozenset = frozenset()
    liveness_ticks: int = 400         # bound for the healed cluster to elect and commit

    @classmethod
    def quiet(cls, **overrides) -> "Options":
        """No random faults and no random clients: a test scripts them itself."""
        calm = dict(faults=Faults(drop=0.0, duplicate=0.0, max_delay=1), partition_rate=0.0,
                    crash_rate=0.0, restart_rate=0.0, torn_ready_rate=0.0, propose_rate=0.0,
                    read_rate=0.0, compact_rate=0.0, tick_skip=0.0)
        return cls(**{**calm, **overrides})


class SimulationError(AssertionError):
    """The core raised, or the healed cluster made no progress in time."""


class Disk:
    """What survives a crash: only what the shell persisted from Readys and compaction."""

    def __init__(self):
        self.hard_state = HardState()
        self.snapshot: Snapshot | None = None
        self.entries: list[Entry] = []

    def save(self, rd: Ready) -> None:
        if rd.snapshot is not None:
            self.snapshot, self.entries = rd.snapshot, []
        if rd.entries:
            offset = self.snapshot.index if self.snapshot else 0
            keep = rd.entries[0].index - offset - 1
            if not 0 <= keep <= len(self.entries):
                raise SimulationError(f"WAL append at {rd.entries[0].index} leaves a gap after "
                                      f"{offset + len(self.entries)}")
            del self.entries[keep:]
            self.entries.extend(rd.entries)
        if rd.hard_state is not None:
            self.hard_state = rd.hard_state

    def compact(self, snap: Snapshot) -> None:
        self.entries = [e for e in self.entries if e.index > snap.index]
        self.snapshot = snap


def _state_of(snap: Snapshot | None) -> str:
    return snap.data.decode().split(":", 1)[1] if snap else ""


@dataclass
class SimNode:
    id: str
    config: Config
    disk: Disk = field(default_factory=Disk)
    core: RaftCore | None = None
    state: str = ""                   # hash of the applied state machine
    applied: int = 0
    restarts: int = 0


class Cluster:
    """N nodes on one simulated network. Drive it with `step()`; inspect `nodes`."""

    def __init__(self, seed: int, opts: Options):
        self.seed, self.opts = seed, opts
        self.rng = random.Random(seed)
        self.net = Network(random.Random(self.rng.random()), opts.faults)
        self.inv = Invariants()
        self.now = 0
        self.counter = 0
        self.torn_ready_rate = opts.torn_ready_rate
        self.events: list[tuple[int, str, Event]] = []          # (tick, node, event)
        self.read_results: dict[object, tuple[str, int, int]] = {}  # request -> (node, index, applied)
        self.dropped_reads: list[object] = []
        self.stats = {"crashes": 0, "torn_readies": 0, "partitions": 0, "snapshots": 0,
                      "proposals": 0, "reads": 0}
        ids = tuple(f"n{i}" for i in range(1, opts.nodes + 1))
        self.nodes = {i: SimNode(i, self._config(i, ids)) for i in ids}
        for node in self.nodes.values():
            self.start(node)

    def _config(self, node_id: str, ids: tuple[str, ...]) -> Config:
        o = self.opts
        return Config(node_id, ids, election_ticks=o.election_ticks, heartbeat_ticks=o.heartbeat_ticks,
                      pre_vote=o.pre_vote, check_quorum=o.check_quorum,
                      max_entries_per_append=o.max_entries_per_append, bugs=frozenset(o.bugs))

    # node lifecycle -------------------------------------------------------
    def start(self, node: SimNode) -> None:
        d = node.disk
        node.core = RaftCore(node.config, hard_state=d.hard_state, entries=list(d.entries),
                             snapshot=d.snapshot, applied=d.snapshot.index if d.snapshot else 0,
                             rng=random.Random(self.rng.random()))
        node.state, node.applied = _state_of(d.snapshot), node.core.applied

    def crash(self, node: SimNode) -> None:
        """Lose all memory; reads in flight there get no answer (indefinite)."""
        node.core = None
        self.stats["crashes"] += 1
        for request, (where, _) in list(self.inv.reads.items()):
            if where == node.id:
                del self.inv.reads[request]

    def alive(self) -> list[SimNode]:
        return [n for n in self.nodes.values() if n.core is not None]

    def leaders(self) -> list[SimNode]:
        return [n for n in self.alive() if n.core.role is Role.LEADER]

    # the shell's part -----------------------------------------------------
    def process(self, node: SimNode) -> None:
        while node.core is not None and node.core.has_ready():
            self._handle(node, node.core.ready())

    def _handle(self, node: SimNode, rd: Ready) -> None:
        core = node.core
        self.inv.max_commit = max(self.inv.max_commit, core.commit)
        node.disk.save(rd)
        self.inv.persisted(node.id, rd.entries, core._log)
        if self.rng.random() < self.torn_ready_rate:
            self.stats["torn_readies"] += 1
            self.crash(node)
            return
        for msg in rd.messages:
            self.net.send(msg, self.now)
        self._apply(node, rd)
        for rs in rd.read_states:
            self.read_results[rs.request] = (node.id, rs.index, node.applied)
            self.inv.read_served(node.id, rs.request, rs.index, node.applied)
        for request in rd.dropped_reads:
            self.dropped_reads.append(request)
            self.inv.read_dropped(request)
        for ev in rd.events:
            self.events.append((self.now, node.id, ev))
            if ev.kind == "became_leader":
                self.inv.became_leader(node.id, ev.term, core._log)
        core.advance(rd)

    def _apply(self, node: SimNode, rd: Ready) -> None:
        if rd.snapshot is not None:
            node.state, node.applied = _state_of(rd.snapshot), rd.snapshot.index
            self.inv.installed(node.id, node.applied, node.state)
            self.stats["snapshots"] += 1
        leaders = [(n.id, n.core.term, n.core._log) for n in self.leaders()]
        for e in rd.committed:
            if e.index != node.applied + 1:
                raise SimulationError(f"{node.id} asked to apply {e.index} after {node.applied}")
            node.state = self.inv.applied(node.id, e, node.state, leaders)
            node.applied = e.index

    # time -----------------------------------------------------------------
    def step(self, faults: bool = True, clients: bool = True) -> None:
        self.now += 1
        if faults:
            self._inject_faults()
        for node in self.alive():
            if self.rng.random() >= self.opts.tick_skip:
                node.core.tick()
                self.process(node)
        self.deliver()
        if clients:
            self._client_ops()

    def deliver(self, limit: int = 20000) -> None:
        for _ in range(limit):
            msg = self.net.pop_due(self.now)
            if msg is None:
                return
            node = self.nodes[msg.dst]
            if node.core is not None:
                node.core.step(msg)
                self.process(node)
        raise SimulationError(f"more than {limit} messages delivered in one tick: a message storm")

    def _inject_faults(self) -> None:
        o, rng = self.opts, self.rng
        if not self.net.blocked and rng.random() < o.partition_rate:
            self._partition()
        elif self.net.blocked and rng.random() < o.heal_rate:
            self.net.heal()
        alive = self.alive()
        if alive and rng.random() < o.crash_rate:
            leaders = self.leaders()
            self.crash(rng.choice(leaders if leaders and rng.random() < 0.5 else alive))
        dead = [n for n in self.nodes.values() if n.core is None]
        if dead and rng.random() < o.restart_rate:
            node = rng.choice(dead)
            node.restarts += 1
            self.start(node)
        alive = self.alive()
        if alive and rng.random() < o.compact_rate:
            self._compact(rng.choice(alive))

    def _partition(self) -> None:
        ids, rng = list(self.nodes), self.rng
        self.stats["partitions"] += 1
        leaders = [n.id for n in self.leaders()]
        kind = rng.random()
        if kind < 0.4 and leaders:
            victim = rng.choice(leaders)
            self.net.partition([[victim], [i for i in ids if i != victim]])
        elif kind < 0.8:
            rng.shuffle(ids)
            cut = rng.randint(1, len(ids) - 1)
            self.net.partition([ids[:cut], ids[cut:]])
        else:
            src = rng.choice(ids)
            self.net.cut_one_way(src, [i for i in ids if i != src])

    def _compact(self, node: SimNode) -> None:
        core = node.core
        if node.applied - core.snapshot_index < self.opts.compact_min:
            return
        index = node.applied
        snap = Snapshot(index, core._log.term(index), f"{index}:{node.state}".encode())
        node.disk.compact(snap)
        core.compact(index, snap.data)

    def _client_ops(self) -> None:
        o, rng = self.opts, self.rng
        if rng.random() < o.propose_rate:
            self.propose(f"{self.seed}/{self.counter}".encode())
        if rng.random() < o.read_rate:
            self.read()

    def _pick_node(self) -> SimNode | None:
        """A client picks a node, and follows its leader hint like a redirect."""
        alive = self.alive()
        if not alive:
            return None
        node = self.rng.choice(alive)
        hint = self.nodes.get(node.core.leader) if node.core.leader else None
        return hint if hint is not None and hint.core is not None else node

    def propose(self, data: bytes, node: SimNode | None = None) -> int | None:
        node = node or self._pick_node()
        self.counter += 1
        if node is None:
            return None
        try:
            index = node.core.propose(data)
        except NotLeader:
            return None
        self.stats["proposals"] += 1
        self.process(node)
        return index

    def read(self, node: SimNode | None = None) -> object | None:
        node = node or self._pick_node()
        self.counter += 1
        if node is None:
            return None
        request = ("read", self.counter)
        self.inv.read_requested(node.id, request)
        try:
            node.core.read_index(request)
        except NotLeader:
            del self.inv.reads[request]
            return None
        self.stats["reads"] += 1
        self.process(node)
        return request


def run_until(cluster: Cluster, done, ticks: int) -> int:
    """Step (no random faults or clients) until done(); return the ticks taken."""
    for tick in range(1, ticks + 1):
        cluster.step(faults=False, clients=False)
        if done():
            return tick
    raise SimulationError(f"condition not reached within {ticks} ticks (seed {cluster.seed})")


def heal(cluster: Cluster) -> None:
    """End every fault: whole network, no loss, every node running."""
    cluster.net.heal()
    cluster.torn_ready_rate = 0.0
    cluster.net.faults = Faults(drop=0.0, duplicate=0.0, max_delay=cluster.net.faults.max_delay)
    for node in cluster.nodes.values():
        if node.core is None:
            cluster.start(node)


def stable_leader(cluster: Cluster) -> SimNode | None:
    leaders = cluster.leaders()
    if len(leaders) != 1:
        return None
    lead = leaders[0]
    ok = all(n.core.leader == lead.id and n.core.term == lead.core.term for n in cluster.alive())
    return lead if ok else None


def check_liveness(cluster: Cluster) -> int:
    """After healing, a leader that every node follows must commit a new entry and
    every node must apply it within `liveness_ticks`. Returns the ticks it took."""
    heal(cluster)
    marker, index, proposed_to = f"liveness/{cluster.seed}".encode(), None, None
    for tick in range(1, cluster.opts.liveness_ticks + 1):
        cluster.step(faults=False, clients=False)
        lead = stable_leader(cluster)
        done = cluster.inv.committed.get(index) if index else None
        if (done is not None and done[1] != marker) or \
                (done is None and lead is not None and (lead.id, lead.core.term) != proposed_to):
            index = None                       # that leader lost it: propose again
        if index is None and lead is not None:
            index, proposed_to = cluster.propose(marker, lead), (lead.id, lead.core.term)
        if index and all(n.applied >= index for n in cluster.nodes.values()) \
                and cluster.inv.committed[index][1] == marker:
            return tick
    roles = {n.id: (n.core.role.value, n.core.term, n.core.leader, n.applied) for n in cluster.alive()}
    raise SimulationError(f"no progress {cluster.opts.liveness_ticks} ticks after healing: {roles}")


def simulate(seed: int, opts: Options, liveness: bool = True) -> dict:
    """Run one seeded simulation; return its figures. A failure's message starts
    with the seed and step, so `simulate(seed, opts)` replays it exactly."""
    cluster = Cluster(seed, opts)
    try:
        for _ in range(opts.steps):
            cluster.step()
        recovery = check_liveness(cluster) if liveness else None
    except SafetyViolation as e:
        raise SafetyViolation(f"seed {seed}, step {cluster.now}: {e}") from e
    except Exception as e:
        raise SimulationError(f"seed {seed}, step {cluster.now}: {type(e).__name__}: {e}") from e
    inv = cluster.inv
    return dict(cluster.stats, seed=seed, elections=inv.elections, terms_with_leader=len(inv.leaders),
                committed=inv.max_commit, reads_served=inv.reads_served, reads_dropped=inv.reads_dropped,
                messages=cluster.net.sent, recovery_ticks=recovery)
