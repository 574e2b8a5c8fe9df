"""Hypothesis stateful test: random schedules of ticks, proposals, reads, partitions,
crashes, restarts and compactions against a dict model of acknowledged writes.

Invariants (Raft Figure 3): one leader per term and the other safety properties are
checked after every Ready by the simulation; here in addition a write once observed
committed never changes (Raft 5.4.3), and no node applies beyond the commit index.
"""

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from emulator.raft.simulation import Cluster, Options

NODES = ("n1", "n2", "n3")


class RaftSchedule(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.c = Cluster(0, Options.quiet(nodes=3))
        self.proposed: dict[int, bytes] = {}     # index -> data we proposed there
        self.acked: dict[int, bytes] = {}        # model: committed writes, never to change
        self.n = 0

    @rule(ticks=st.integers(1, 30))
    def run(self, ticks):
        for _ in range(ticks):
            self.c.step(faults=False, clients=False)
        for index, data in list(self.proposed.items()):
            if index in self.c.inv.committed:
                if self.c.inv.committed[index][1] == data:
                    self.acked[index] = data
                del self.proposed[index]

    @rule(node=st.sampled_from(NODES))
    def propose(self, node):
        n = self.c.nodes[node]
        if n.core is not None:
            self.n += 1
            data = f"w{self.n}".encode()
            index = self.c.propose(data, n)
            if index is not None:
                self.proposed[index] = data

    @rule(node=st.sampled_from(NODES))
    def read(self, node):
        if self.c.nodes[node].core is not None:
            self.c.read(self.c.nodes[node])

    @rule(cut=st.sets(st.sampled_from(NODES), min_size=1, max_size=2))
    def partition(self, cut):
        self.c.net.partition([sorted(cut), [i for i in NODES if i not in cut]])

    @rule()
    def heal(self):
        self.c.net.heal()

    @precondition(lambda self: len(self.c.alive()) > 1)
    @rule(node=st.sampled_from(NODES))
    def crash(self, node):
        if self.c.nodes[node].core is not None:
            self.c.crash(self.c.nodes[node])

    @rule(node=st.sampled_from(NODES))
    def restart(self, node):
        if self.c.nodes[node].core is None:
            self.c.start(self.c.nodes[node])

    @rule(node=st.sampled_from(NODES))
    def compact(self, node):
        if self.c.nodes[node].core is not None:
            self.c._compact(self.c.nodes[node])

    @invariant()
    def committed_writes_never_change(self):
        for index, data in self.acked.items():
            assert self.c.inv.committed[index][1] == data

    @invariant()
    def applied_within_commit(self):
        for n in self.c.alive():
            assert n.applied <= n.core.commit <= n.core.last_index


RaftSchedule.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_raft_schedule = RaftSchedule.TestCase
