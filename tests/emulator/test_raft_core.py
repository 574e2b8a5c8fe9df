"""Unit tests of the pure Raft core, one rule each, citing the Raft paper section
(Ongaro & Ousterhout 2014; thesis chapters for pre-vote and read index). As
etcd-io/raft raft_paper_test.go. Clusters run on the deterministic simulated
network with no random faults; the tests script partitions and crashes.
"""

import random

import pytest

from emulator.raft import (Config, Entry, HardState, Message, MsgType, NotLeader, RaftCore,
                           ReadState, Role)
from emulator.raft.simulation import Cluster, Options, run_until, stable_leader

M = MsgType
ET = 10  # election ticks used by Options


def cluster(nodes=3, seed=1, **kw) -> Cluster:
    return Cluster(seed, Options.quiet(nodes=nodes, **kw))


def elect(c: Cluster):
    run_until(c, lambda: stable_leader(c) is not None, 20 * ET)
    return stable_leader(c)


def commit_on_all(c: Cluster, index: int) -> None:
    run_until(c, lambda: all(n.applied >= index for n in c.alive()), 10 * ET)


def drain(core: RaftCore):
    """Take and advance every Ready; return all messages and events it produced."""
    msgs, events = [], []
    while core.has_ready():
        rd = core.ready()
        msgs += rd.messages
        events += rd.events
        core.advance(rd)
    return msgs, events


def new_core(node="n1", peers=("n1", "n2", "n3"), **kw):
    entries = kw.pop("entries", ())
    hs = kw.pop("hard_state", HardState())
    return RaftCore(Config(node, peers, **kw), hard_state=hs, entries=entries, rng=random.Random(7))


def make_leader(core: RaftCore, voters=("n2",)) -> None:
    """Drive `core` through pre-vote and vote by feeding it grants from `voters`."""
    for _ in range(2 * ET):
        core.tick()
    msgs, _ = drain(core)
    pre = [m for m in msgs if m.type is M.PRE_VOTE][0]
    for v in voters:
        core.step(Message(M.PRE_VOTE_RESP, v, core.id, term=pre.term))
    msgs, _ = drain(core)
    vote = [m for m in msgs if m.type is M.VOTE][0]
    for v in voters:
        core.step(Message(M.VOTE_RESP, v, core.id, term=vote.term))
    drain(core)
    assert core.role is Role.LEADER


def test_one_leader_elected_and_followed():
    """Raft 5.2: a quiet cluster elects exactly one leader that every node follows."""
    c = cluster(nodes=5)
    lead = elect(c)
    became = [(node, ev.term) for _, node, ev in c.events if ev.kind == "became_leader"]
    assert became == [(lead.id, lead.core.term)]
    assert all(n.core.leader == lead.id for n in c.alive())


def test_entry_commits_only_with_a_majority():
    """Raft 5.3: an entry is committed once stored on a majority, not before."""
    c = cluster()
    lead = elect(c)
    c.net.partition([[lead.id], [n for n in c.nodes if n != lead.id]])
    index = c.propose(b"alone", lead)
    for _ in range(ET // 2):
        c.step(faults=False, clients=False)
    assert lead.core.commit < index
    c.net.heal()
    if lead.core.role is Role.LEADER:
        commit_on_all(c, index)
        assert c.inv.committed[index][1] == b"alone"


def test_no_commit_of_old_term_entries_by_counting():
    """Raft 5.4.2 (Figure 8): a leader does not commit an entry of an earlier term
    by counting replicas; it commits it only via an entry of its own term."""
    core = new_core(hard_state=HardState(term=2), entries=[Entry(1, 1, b"a"), Entry(2, 2, b"b")])
    make_leader(core)
    assert core.term == 3 and core.last_index == 3          # the no-op of term 3
    core.step(Message(M.APPEND_RESP, "n2", "n1", term=3, index=2))
    assert core.commit == 0
    core.step(Message(M.APPEND_RESP, "n2", "n1", term=3, index=3))
    assert core.commit == 3


def test_one_vote_per_term():
    """Raft 5.2: each server votes for at most one candidate in a term."""
    core = new_core()
    core.step(Message(M.VOTE, "n2", "n1", term=1))
    core.step(Message(M.VOTE, "n3", "n1", term=1))
    msgs, events = drain(core)
    replies = {m.dst: m.reject for m in msgs if m.type is M.VOTE_RESP}
    assert replies == {"n2": False, "n3": True}
    assert [e.detail for e in events if e.kind == "vote_granted"] == [{"candidate": "n2"}]


def test_vote_refused_to_a_less_up_to_date_log():
    """Raft 5.4.1: a vote is refused to a candidate whose log is less up-to-date."""
    core = new_core(hard_state=HardState(term=2), entries=[Entry(1, 1), Entry(2, 2)])
    core.step(Message(M.VOTE, "n2", "n1", term=3, index=5, log_term=1))   # longer, older term
    core.step(Message(M.VOTE, "n3", "n1", term=3, index=1, log_term=2))   # same term, shorter
    msgs, _ = drain(core)
    assert [(m.dst, m.reject) for m in msgs if m.type is M.VOTE_RESP] == [("n2", True), ("n3", True)]
    assert core.term == 3


def test_pre_vote_does_not_disturb_the_leader():
    """Thesis 9.6: an isolated follower pre-votes without bumping its term, so when it
    rejoins the leader keeps its term and leadership."""
    c = cluster()
    lead = elect(c)
    term = lead.core.term
    loner = next(n for n in c.alive() if n is not lead)
    c.net.partition([[loner.id], [n for n in c.nodes if n != loner.id]])
    for _ in range(5 * ET):
        c.step(faults=False, clients=False)
    assert loner.core.term == term and loner.core.role is Role.PRE_CANDIDATE
    c.net.heal()
    run_until(c, lambda: loner.core.leader == lead.id, 5 * ET)
    assert lead.core.role is Role.LEADER and lead.core.term == term


def test_pre_vote_refused_while_a_leader_is_heard():
    """Thesis 9.6 (leader stickiness): a node that heard from its leader within the
    election timeout refuses pre-votes."""
    core = new_core()
    core.step(Message(M.APPEND, "n2", "n1", term=1))
    core.step(Message(M.PRE_VOTE, "n3", "n1", term=2, index=5, log_term=1))
    msgs, _ = drain(core)
    assert [m.reject for m in msgs if m.type is M.PRE_VOTE_RESP] == [True]
    assert core.term == 1 and core.leader == "n2"


def test_check_quorum_steps_down_within_an_election_timeout():
    """Thesis 6.2 (check-quorum): an isolated leader steps down within one election
    timeout, and a read it had not confirmed is dropped, never answered."""
    c = cluster()
    lead = elect(c)
    c.net.partition([[lead.id], [n for n in c.nodes if n != lead.id]])
    start = c.now
    request = c.read(lead)
    ticks = run_until(c, lambda: lead.core.role is not Role.LEADER, 2 * ET)
    assert ticks <= ET + 1
    kinds = [ev.kind for t, node, ev in c.events if node == lead.id and t > start]
    assert "check_quorum_step_down" in kinds
    assert request in c.dropped_reads and request not in c.read_results
    with pytest.raises(NotLeader):
        lead.core.read_index("late")


def test_read_index_confirms_leadership():
    """Thesis 6.4: a read is answered at the commit index once a quorum confirms the
    leader; followers redirect with NotLeader(leader)."""
    c = cluster()
    lead = elect(c)
    index = c.propose(b"w", lead)
    commit_on_all(c, index)
    request = c.read(lead)
    run_until(c, lambda: request in c.read_results, 5)
    assert c.read_results[request][:2] == (lead.id, index)
    follower = next(n for n in c.alive() if n is not lead)
    with pytest.raises(NotLeader) as err:
        follower.core.read_index("r")
    assert err.value.leader == lead.id


def test_read_waits_for_a_commit_in_the_leaders_term():
    """Thesis 6.4 step 1: a new leader answers reads only after committing its no-op."""
    core = new_core()
    make_leader(core)
    core.read_index("r")
    rd = core.ready()
    assert rd.read_states == [] and core.commit == 0
    core.advance(rd)
    core.step(Message(M.APPEND_RESP, "n2", "n1", term=core.term, index=1))
    msgs, _ = drain(core)
    ctx = max(m.context for m in msgs)
    core.step(Message(M.APPEND_RESP, "n3", "n1", term=core.term, index=1, context=ctx))
    assert core.ready().read_states == [ReadState("r", 1)]


def test_divergent_follower_log_is_repaired():
    """Raft 5.3: a deposed leader's uncommitted entries are overwritten by the new leader's."""
    c = cluster(max_entries_per_append=4)
    old = elect(c)
    c.net.partition([[old.id], [n for n in c.nodes if n != old.id]])
    lost = [c.propose(f"lost{i}".encode(), old) for i in range(20)]
    run_until(c, lambda: any(n is not old for n in c.leaders()), 10 * ET)
    new = next(n for n in c.leaders() if n is not old)
    kept = [c.propose(f"kept{i}".encode(), new) for i in range(3)]
    c.net.heal()
    commit_on_all(c, kept[-1])
    assert old.core._log.slice(1, old.core.last_index) == new.core._log.slice(1, new.core.last_index)
    assert all(c.inv.committed[i][1] != b"lost0" for i in lost if i in c.inv.committed)


def test_lagging_follower_catches_up_by_snapshot():
    """Raft 7: a follower missing compacted entries receives a snapshot, then the log."""
    c = cluster()
    lead = elect(c)
    lagger = next(n for n in c.alive() if n is not lead)
    c.crash(lagger)
    last = [c.propose(f"w{i}".encode(), lead) for i in range(30)][-1]
    run_until(c, lambda: lead.applied >= last, 5 * ET)
    c._compact(lead)
    assert lead.core.snapshot_index == last
    c.start(lagger)
    after = c.propose(b"after", lead)
    commit_on_all(c, after)
    assert any(ev.kind == "snapshot_installed" for _, node, ev in c.events if node == lagger.id)
    assert lagger.state == lead.state and lagger.applied == lead.applied == after


def test_restart_keeps_committed_entries():
    """Raft 5.4 with Figure 2's persistent state: after every node crashes and restarts
    from its disk, committed entries survive and a new leader commits more."""
    c = cluster()
    lead = elect(c)
    index = c.propose(b"durable", lead)
    commit_on_all(c, index)
    for node in list(c.nodes.values()):
        c.crash(node)
    for node in c.nodes.values():
        c.start(node)
    lead = elect(c)
    more = c.propose(b"more", lead)
    commit_on_all(c, more)
    assert c.inv.committed[index] == (c.inv.committed[index][0], b"durable")


def test_api_misuse_is_refused():
    core = new_core()
    with pytest.raises(NotLeader) as err:
        core.propose(b"x")
    assert err.value.leader is None
    make_leader(core)
    with pytest.raises(TypeError, match="data"):
        core.propose("not bytes")
    with pytest.raises(ValueError, match="index"):
        core.compact(5, b"")
    with pytest.raises(ValueError, match="commit"):
        new_core(hard_state=HardState(term=1, commit=3), entries=[Entry(1, 1)])


def test_read_index_needs_a_quorum_of_acks():
    """Thesis 6.4 step 3: in a 5-node cluster a read is answered only after two
    followers (with the leader, a majority) echo its context in the current term."""
    core = new_core(peers=("n1", "n2", "n3", "n4", "n5"))
    make_leader(core, voters=("n2", "n3"))
    for peer in ("n2", "n3"):
        core.step(Message(M.APPEND_RESP, peer, "n1", term=core.term, index=1))
    drain(core)
    core.read_index("r")
    msgs, _ = drain(core)
    ctx = max(m.context for m in msgs)
    core.step(Message(M.APPEND_RESP, "n4", "n1", term=core.term, index=1, context=ctx))
    core.step(Message(M.APPEND_RESP, "n4", "n1", term=core.term, index=1, context=ctx))   # duplicate
    core.step(Message(M.APPEND_RESP, "n5", "n1", term=core.term - 1, index=1, context=ctx))  # stale term
    assert core.ready().read_states == []
    core.step(Message(M.APPEND_RESP, "n5", "n1", term=core.term, index=1, context=ctx))
    assert core.ready().read_states == [ReadState("r", 1)]
