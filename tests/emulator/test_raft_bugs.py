"""The planted bugs of the Raft core: each one is exposed by the scenario that
should expose it, and the same scenario without the bug gives the right result.
A healthy cluster with stable leadership behaves normally with either bug on.

- vote-twice breaks election safety (Raft 5.2) when candidates race.
- lease-no-check-quorum breaks linearizable reads (thesis 6.4, 6.2 check-quorum)
  when the leader is isolated and a new majority leader commits a write.
"""

import random

import pytest

from emulator.raft import Config, RaftCore, Role
from emulator.raft.simulation import (Cluster, Options, SafetyViolation, run_until, simulate,
                                      stable_leader)

ET = 10
VOTE_TWICE = frozenset({"vote-twice"})
LEASE = frozenset({"lease-no-check-quorum"})


def first_violation(bugs, seeds, **opts):
    """(seed, message) of the first seed whose run breaks a safety property, or None."""
    for seed in seeds:
        try:
            simulate(seed, Options(bugs=bugs, **opts), liveness=False)
        except SafetyViolation as e:
            return seed, str(e)
    return None


# vote-twice ---------------------------------------------------------------

def race_two_candidates(bugs) -> list[str]:
    """n1 and n2 campaign in the same term; n3 hears both requests (Raft 5.2)."""
    ids = ("n1", "n2", "n3")
    cores = {i: RaftCore(Config(i, ids, pre_vote=False, bugs=bugs), rng=random.Random(i)) for i in ids}
    for cand in ("n1", "n2"):
        cores[cand]._campaign(pre=False)
    requests = [m for c in ("n1", "n2") for m in cores[c].ready().messages if m.dst == "n3"]
    for req in requests:
        cores["n3"].step(req)
    for reply in cores["n3"].ready().messages:
        cores[reply.dst].step(reply)
    return sorted(i for i, c in cores.items() if c.role is Role.LEADER and c.term == 1)


def test_vote_twice_elects_two_leaders_in_one_term():
    assert race_two_candidates(VOTE_TWICE) == ["n1", "n2"]
    assert race_two_candidates(frozenset()) == ["n1"]


def test_vote_twice_found_over_seeds_and_absent_without_the_bug():
    """Raft 5.2 election safety under random faults: the simulation finds two leaders
    in one term with the bug, and none on the same seeds without it."""
    seeds = range(60)
    found = first_violation(VOTE_TWICE, seeds, steps=1000)
    assert found is not None, "vote-twice went unnoticed on 60 seeds"
    seed, message = found
    assert "election safety (Raft 5.2)" in message and "both leaders in term" in message
    assert first_violation(frozenset(), range(seed + 1), steps=1000) is None


# lease-no-check-quorum ------------------------------------------------------

def isolate_leader_and_write(bugs):
    """Elect a leader, cut it off from the majority, let the majority elect a new
    leader and commit a write there. Returns (cluster, old leader, new leader, index)."""
    c = Cluster(3, Options.quiet(bugs=bugs))
    run_until(c, lambda: stable_leader(c) is not None, 20 * ET)
    old = stable_leader(c)
    before = c.propose(b"before", old)
    run_until(c, lambda: all(n.applied >= before for n in c.alive()), 5 * ET)
    c.net.partition([[old.id], [n for n in c.nodes if n != old.id]])
    run_until(c, lambda: any(n is not old for n in c.leaders()), 20 * ET)
    new = next(n for n in c.leaders() if n is not old)
    write = c.propose(b"after", new)
    run_until(c, lambda: new.applied >= write, 5 * ET)
    return c, old, new, write


def test_lease_bug_serves_a_stale_read_from_an_isolated_leader():
    """Thesis 6.4: with the bug the isolated old leader still leads and answers a read
    at once, at an index that misses the write the new leader committed."""
    c, old, new, write = isolate_leader_and_write(LEASE)
    assert old.core.role is Role.LEADER and new.core.term > old.core.term
    with pytest.raises(SafetyViolation, match=r"linearizable read \(Raft 6.4\)"):
        c.read(old)
    [(node, index, applied)] = c.read_results.values()
    assert node == old.id and index < write and applied < write
    assert c.inv.committed[write][1] == b"after"


def test_without_the_lease_bug_the_isolated_leader_refuses_the_read():
    """Thesis 6.2 check-quorum: the old leader stepped down, so the read is refused
    (NotLeader); the new leader serves it, covering the write."""
    c, old, new, write = isolate_leader_and_write(frozenset())
    assert old.core.role is not Role.LEADER
    assert any(ev.kind == "check_quorum_step_down" for _, n, ev in c.events if n == old.id)
    assert c.read(old) is None and c.read_results == {}
    request = c.read(new)
    run_until(c, lambda: request in c.read_results, 5)
    assert c.read_results[request][0] == new.id and c.read_results[request][1] >= write


def test_lease_bug_found_over_seeds_and_absent_without_the_bug():
    seeds = range(30)
    found = first_violation(LEASE, seeds, steps=1500)
    assert found is not None, "lease-no-check-quorum went unnoticed on 30 seeds"
    seed, message = found
    assert "linearizable read (Raft 6.4)" in message
    assert first_violation(frozenset(), range(seed + 1), steps=1500) is None


# healthy clusters -------------------------------------------------------------

def bootstrap_leader(c: Cluster, node_id: str) -> None:
    """Only node_id's clock runs until it leads: an uncontested first election."""
    node = c.nodes[node_id]
    for _ in range(20 * ET):
        c.now += 1
        node.core.tick()
        c.process(node)
        c.deliver()
        if node.core.role is Role.LEADER:
            return
    raise AssertionError(f"{node_id} did not become leader")


@pytest.mark.parametrize("bugs", [VOTE_TWICE, LEASE], ids=lambda b: next(iter(b)))
def test_bug_is_invisible_with_stable_leadership(bugs):
    """No faults, stable leadership: every safety check passes, one election only,
    writes commit and reads are served, with the bug on."""
    for seed in range(5):
        c = Cluster(seed, Options.quiet(bugs=bugs, propose_rate=0.3, read_rate=0.15))
        bootstrap_leader(c, "n1")
        for _ in range(600):
            c.step(faults=False, clients=True)
        assert c.inv.elections == 1 and c.nodes["n1"].core.role is Role.LEADER
        assert c.inv.max_commit > 100 and c.inv.reads_served > 50
