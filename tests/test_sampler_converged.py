"""StateSampler.converged: a node that refused to start on its corrupted WAL is not waited
for, and only that node (layer: tests)."""

from types import SimpleNamespace

from harness.sampler import StateSampler


def sampler(**latest):
    s = StateSampler(None, [SimpleNamespace(name=n) for n in ("n1", "n2", "n3")], None, None)
    s.latest = {n: {"ok": v is not None, **(v or {})} for n, v in latest.items()}
    return s


LEAD = {"role": "leader", "leader": "n1", "commit": 9, "applied": 9}
FOLLOW = {"role": "follower", "leader": "n1", "commit": 9, "applied": 9}


def test_converged_waits_for_every_node_unless_it_refused():
    s = sampler(n1=LEAD, n2=FOLLOW, n3=None)
    assert not s.converged()
    assert s.converged(refused={"n3"})
    assert not s.converged(refused={"n2"})          # n3 is still down and was not refused
    assert not sampler(n1=LEAD, n2={**FOLLOW, "applied": 8}, n3=None).converged({"n3"})
    assert not sampler(n1=None, n2=FOLLOW, n3=FOLLOW).converged({"n1"})   # its leader is gone
