"""Failover SLA checker: measured per episode, compared with thresholds; paired cases."""

from checker import RunContext, run_check
from checker.sla import METRICS

# The seed's figures (seed/phase2-reliability-quick-reference.txt); the cases carry them.
SEED_THRESHOLDS = {"failure_detection_s": 10, "leader_election_s": 5, "client_redirect_s": 10,
                   "total_rto_s": 60, "cascade_recovery_s_per_node": 10,
                   "split_brain_detect_s": 5, "failback_s": 300}


def check_slas(history, states=(), node_events=(), thresholds=None, required=()):
    """The sla checker through the registry (check_safe: a crash is unknown)."""
    return run_check("sla", history, RunContext(states=states, node_events=node_events,
                                                thresholds=thresholds or {}, required=required))

MS = 1_000_000
N3 = ("n1", "n2", "n3")


def op(process, f, t0, t1, type_="ok", node="n1", term=2, lsn=None, value=1):
    inv = {"process": process, "type": "invoke", "f": f, "key": "k1",
           "value": None if f == "read" else value, "time": t0 * MS}
    done = {**inv, "type": type_, "time": t1 * MS}
    if type_ == "ok":
        done.update(node=node, term=term, lsn=lsn if lsn is not None else process, value=value)
    else:
        done["error"] = "timeout"
    return [inv, done]


def nemesis(f, value, t):
    return [{"process": "nemesis", "type": "invoke", "f": f, "value": value, "time": (t - 1) * MS},
            {"process": "nemesis", "type": "info", "f": f, "value": value, "time": t * MS}]


def sample(t, node, role, term, leader, applied=0, commit=0, digest=None):
    s = {"time": t * MS, "node": node, "ok": True, "role": role, "term": term, "leader": leader,
         "commit": commit, "applied": applied, "last_index": applied}
    if digest is not None:
        s["digest"] = digest
    return s


def kill_run(elect_at=2500, restart_applied_at=5400, end=6000):
    """n1 leads term 2, is killed at 1 s; n2 wins term 3; n1 restarts at 5 s and catches up."""
    h = (op(1, "write", 0, 10, lsn=1) + op(2, "write", 900, 1500, type_="info")
         + nemesis("kill", {"nodes": ["n1"]}, 1000)
         + op(3, "read", 2550, 2600, node="n2", term=3, lsn=5)
         + op(4, "write", 2650, 2700, node="n2", term=3, lsn=6)
         + nemesis("start", {"nodes": ["n1"]}, 5000))
    states = [sample(t, n, "leader" if n == "n1" else "follower", 2, "n1", 1, 1)
              for t in range(0, 1000, 50) for n in N3]
    states += [sample(t, n, "follower", 2, None, 1, 1) for t in range(1050, elect_at, 50)
               for n in ("n2", "n3")]
    states += [sample(t, n, "leader" if n == "n2" else "follower", 3, "n2", 20, 20)
               for t in range(elect_at, end, 50) for n in ("n2", "n3")]
    states += [sample(t, "n1", "follower", 3, "n2", 20 if t >= restart_applied_at else 3, 3)
               for t in range(max(5100, elect_at), end, 100)]
    events = [{"node": "n1", "kind": "became_leader", "term": 2, "time": 0},
              {"node": "n2", "kind": "election_timeout", "term": 2, "time": 2000 * MS},
              {"node": "n2", "kind": "became_candidate", "term": 3, "time": 2000 * MS},
              {"node": "n2", "kind": "became_leader", "term": 3, "time": 2400 * MS}]
    return h, states, events


def by_name(r):
    return {s["name"]: s for s in r["slas"]}


def test_accepts_a_leader_kill_within_the_seed_slas():
    r = check_slas(*kill_run(), thresholds=SEED_THRESHOLDS)
    assert r["valid"] is True and r["errors"] == []
    s = by_name(r)
    assert [n for n in METRICS] == [x["name"] for x in r["slas"]]
    assert s["failure_detection_s"] == {"name": "failure_detection_s", "measured": 1.0,
                                        "median": 1.0, "episodes": 1, "missed": 0,
                                        "threshold": 10, "pass": True}
    assert (s["leader_election_s"]["measured"], s["leader_election_s"]["pass"]) == (1.5, True)
    assert s["client_redirect_s"]["measured"] == 1.6
    assert s["total_rto_s"]["measured"] == 1.7
    assert s["failback_s"]["measured"] == 0.4
    assert s["cascade_recovery_s_per_node"]["measured"] == 0.4
    assert r["recoveries"] == [{"node": "n1", "started": 5000 * MS, "seconds": 0.4}]
    [ep] = r["episodes"]
    assert (ep["kind"], ep["leader"], ep["term"], ep["t0"], ep["end"]) == (
        "kill", "n1", 2, 1000 * MS, 5000 * MS)


def test_no_episode_means_not_measured_never_a_pass():
    h = op(1, "write", 0, 10, lsn=1) + nemesis("kill", {"nodes": ["n3"]}, 100)
    states = [sample(t, n, "leader" if n == "n1" else "follower", 2, "n1")
              for t in range(0, 500, 50) for n in N3]
    r = check_slas(h, states, [], thresholds=SEED_THRESHOLDS)
    s = by_name(r)
    assert s["leader_election_s"] == {"name": "leader_election_s", "measured": None,
                                      "median": None, "episodes": 0, "missed": 0,
                                      "threshold": 5, "pass": None}
    assert all(x["pass"] is None for x in r["slas"])
    assert r["valid"] == "unknown"


def test_rejects_a_slow_election():
    r = check_slas(*kill_run(elect_at=6200, end=8000), thresholds=SEED_THRESHOLDS)
    s = by_name(r)
    assert s["leader_election_s"]["measured"] == 5.2 and s["leader_election_s"]["pass"] is False
    assert r["valid"] is False
    assert "leader_election_s: measured 5.200s, threshold < 5s" in r["errors"]


def test_rejects_an_election_that_never_happens():
    h, states, events = kill_run()
    states = [s for s in states if s["term"] == 2]
    r = check_slas(h, states, events, thresholds=SEED_THRESHOLDS)
    s = by_name(r)["leader_election_s"]
    assert (s["episodes"], s["missed"], s["measured"], s["pass"]) == (1, 1, "never", False)
    assert r["valid"] is False
    assert "leader_election_s: never happened in 1 of 1 episode(s)" in r["errors"]
    assert "✗ FAIL (never) leader_election_s: never happened in 1 of 1 episode(s) < 5 s" in r["lines"]


def test_rejects_a_restarted_node_that_never_catches_up():
    r = check_slas(*kill_run(restart_applied_at=99999), thresholds=SEED_THRESHOLDS)
    s = by_name(r)
    assert s["cascade_recovery_s_per_node"]["missed"] == 1
    assert s["cascade_recovery_s_per_node"]["pass"] is False
    assert s["failback_s"]["pass"] is False


def test_rejects_replicas_with_different_digests_at_one_index():
    h, states, events = kill_run()
    states += [sample(5900, "n2", "leader", 3, "n2", 20, 20, digest="aa"),
               sample(5901, "n1", "follower", 3, "n2", 20, 20, digest="bb")]
    r = check_slas(h, states, events, thresholds=SEED_THRESHOLDS)
    assert r["replica_divergence"] == [{"applied": 20, "digests": {"aa": ["n2"], "bb": ["n1"]}}]
    f = by_name(r)["failback_s"]
    assert f["pass"] is False and f["diverged"] is True and r["valid"] is False


def test_required_metric_unmeasured_is_unknown():
    r = check_slas(*kill_run(), thresholds=SEED_THRESHOLDS, required=["split_brain_detect_s"])
    assert by_name(r)["split_brain_detect_s"]["pass"] is None
    assert r["valid"] == "unknown"


def test_a_partition_of_the_leader_is_an_episode_with_step_down():
    h = (op(1, "write", 0, 10, lsn=1)
         + nemesis("partition", {"grudge": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}}, 1000)
         + op(2, "write", 2300, 2400, node="n2", term=3, lsn=3) + nemesis("heal", None, 4000))
    states = [sample(t, n, "leader" if n == "n1" else "follower", 2, "n1", 1, 1)
              for t in range(0, 1000, 50) for n in N3]
    states += [sample(t, n, "leader" if n == "n2" else "follower", 3, "n2", 3, 3)
               for t in range(2200, 4500, 50) for n in ("n2", "n3")]
    states += [sample(t, "n1", "follower", 3, "n2", 3, 3) for t in range(4100, 4500, 50)]
    events = [{"node": "n1", "kind": "check_quorum_step_down", "term": 2, "time": 2000 * MS}]
    r = check_slas(h, states, events, thresholds=SEED_THRESHOLDS)
    s = by_name(r)
    assert s["split_brain_detect_s"]["measured"] == 1.0
    assert s["failure_detection_s"]["measured"] == 1.2   # n2's first sample with term 3
    assert s["leader_election_s"]["measured"] == 1.2
    assert s["total_rto_s"]["measured"] == 1.4
    assert s["failback_s"]["measured"] == 0.1
    assert r["valid"] is True


def test_a_crashing_checker_is_unknown():
    r = check_slas([{"process": 1, "type": "ok", "f": "write", "time": 3}], [], [])
    assert r["valid"] == "unknown" and "BadHistory" in r["error"]


def test_redirect_counts_the_old_leader_winning_a_later_term():
    """A partitioned leader re-elected after the heal serves clients in a new term: that is
    the end of the outage (no redirect was needed), not a missed redirect."""
    h = (op(1, "write", 0, 10, lsn=1)
         + nemesis("partition", {"grudge": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}},
                   1000)
         + nemesis("heal", {"fault": "all"}, 3000)
         + op(2, "read", 3300, 3350, node="n1", term=3, lsn=4)
         + op(3, "write", 3400, 3450, node="n1", term=3, lsn=5))
    states = [sample(t, n, "leader" if n == "n1" else "follower", 2, "n1", 1, 1)
              for t in range(0, 1000, 50) for n in N3]
    states += [sample(t, n, "leader" if n == "n1" else "follower", 3, "n1", 5, 5)
               for t in range(3200, 4000, 50) for n in N3]
    events = [{"node": "n1", "kind": "became_leader", "term": 2, "time": 0},
              {"node": "n1", "kind": "became_leader", "term": 3, "time": 3200 * MS}]
    s = by_name(check_slas(h, states, events, thresholds=SEED_THRESHOLDS))
    assert (s["client_redirect_s"]["measured"], s["client_redirect_s"]["missed"]) == (2.35, 0)
    assert s["total_rto_s"]["measured"] == 2.45


def test_redirect_is_missed_when_no_op_is_served_in_a_later_term():
    h = (op(1, "write", 0, 10, lsn=1)
         + nemesis("partition", {"grudge": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}},
                   1000)
         + op(2, "read", 1100, 1150, node="n1", term=2, lsn=1))
    states = [sample(t, n, "leader" if n == "n1" else "follower", 2, "n1", 1, 1)
              for t in range(0, 3000, 50) for n in N3]
    events = [{"node": "n1", "kind": "became_leader", "term": 2, "time": 0}]
    r = check_slas(h, states, events, thresholds=SEED_THRESHOLDS)
    s = by_name(r)
    assert s["client_redirect_s"]["pass"] is False and s["client_redirect_s"]["missed"] == 1
    assert r["valid"] is False


def test_failback_when_the_heal_completes_mid_election_is_measured_not_never():
    """No leader is sampled at the heal (an election is running): failback is measured to
    the commit of the first leader sampled after it (etcd at 5 and 7 nodes showed this)."""
    h = (op(1, "write", 0, 10, lsn=1)
         + nemesis("partition", {"grudge": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}}, 1000)
         + op(2, "write", 2300, 2400, node="n2", term=3, lsn=3) + nemesis("heal", None, 4000))
    states = [sample(t, n, "leader" if n == "n1" else "follower", 2, "n1", 1, 1)
              for t in range(0, 1000, 50) for n in N3]
    states += [sample(t, n, "leader" if n == "n2" else "follower", 3, "n2", 3, 3)
               for t in range(2200, 3900, 50) for n in ("n2", "n3")]
    states += [sample(t, n, "candidate", 4, None, 3, 3) for t in range(3900, 4300, 50)
               for n in ("n2", "n3")]                  # no leader from 3.9 s to 4.3 s
    states += [sample(t, "n1", "follower", 2, None, 1, 1) for t in range(2000, 4100, 50)]
    states += [sample(t, n, "leader" if n == "n3" else "follower", 4, "n3", 4, 4)
               for t in range(4300, 5000, 50) for n in ("n2", "n3")]
    states += [sample(t, "n1", "follower", 4, "n3", 3 if t < 4600 else 4, 3)
               for t in range(4100, 5000, 50)]
    s = by_name(check_slas(h, states, [], thresholds=SEED_THRESHOLDS))
    assert s["failback_s"]["measured"] == 0.6 and s["failback_s"]["pass"] is True


def test_failback_that_never_catches_up_still_fails():
    """The same run where the old leader never reaches the new leader's commit: never."""
    h = (op(1, "write", 0, 10, lsn=1)
         + nemesis("partition", {"grudge": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}}, 1000)
         + op(2, "write", 2300, 2400, node="n2", term=3, lsn=3) + nemesis("heal", None, 4000))
    states = [sample(t, n, "leader" if n == "n1" else "follower", 2, "n1", 1, 1)
              for t in range(0, 1000, 50) for n in N3]
    states += [sample(t, n, "leader" if n == "n2" else "follower", 3, "n2", 3, 3)
               for t in range(2200, 5000, 50) for n in ("n2", "n3")]
    states += [sample(t, "n1", "follower", 3, "n2", 1, 1) for t in range(4100, 5000, 50)]
    s = by_name(check_slas(h, states, [], thresholds=SEED_THRESHOLDS))
    assert s["failback_s"]["measured"] == "never" and s["failback_s"]["pass"] is False
