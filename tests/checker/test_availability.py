"""Availability checker: paired accepting and rejecting runs (STYLE.md 6), info ops included.

Times in the fixtures are ms on the run clock; three nodes sampled every 100 ms.
"""

import pytest

from checker import RunContext, run_check

MS = 1_000_000
NODES = ("n1", "n2", "n3")


def op(process, t0, t1, type_="ok", f="write", final=False):
    inv = {"process": "final" if final else process, "type": "invoke", "f": f, "key": "k1",
           "value": None if f == "read" else process, "time": t0 * MS}
    done = {**inv, "type": type_, "time": t1 * MS}
    if type_ == "ok":
        done.update(node="n1", term=2)
    else:
        done["error"] = "timeout" if type_ == "info" else "not_leader"
    return [inv, done]


def oks(start, end, step=100, first_process=100):
    """One ok write completing every `step` ms in (start, end]."""
    out = []
    for i, t in enumerate(range(start + step, end + 1, step)):
        out += op(first_process + i, t - 50, t)
    return out


def nemesis(f, nodes, t):
    value = {"nodes": list(nodes)}
    return [{"process": "nemesis", "type": "invoke", "f": f, "value": value, "time": (t - 1) * MS},
            {"process": "nemesis", "type": "info", "f": f, "value": value, "time": t * MS}]


def samples(until, state):
    """state(t, node) -> None (no answer) or (role, term, leader), every 100 ms."""
    out = []
    for t in range(0, until, 100):
        for node in NODES:
            s = state(t, node)
            if s is None:
                out.append({"time": t * MS, "node": node, "ok": False, "error": "no answer"})
            else:
                role, term, leader = s
                out.append({"time": t * MS, "node": node, "ok": True, "role": role,
                            "term": term, "leader": leader})
    return out


def check(history, states, nodes=NODES, **options):
    return run_check("availability", history, RunContext(states=states, nodes=nodes,
                                                         options=options))


# -- a leader kill the cluster recovers from ---------------------------------------------

def kill_state(t, node):
    """n1 leads term 2; killed at 3.0 s; n2 wins term 3 at 4.5 s, n3 hears of it at 4.6 s;
    n1 restarts at 6.0 s and follows n2 from 6.5 s."""
    if t < 3000:
        return ("leader" if node == "n1" else "follower", 2, "n1")
    if node == "n1":
        return None if t < 6000 else ("follower", 2, None) if t < 6500 else ("follower", 3, "n2")
    if t < 4000:
        return ("follower", 2, "n1")          # stale: still names the dead leader
    if node == "n2":
        return ("candidate", 3, None) if t < 4500 else ("leader", 3, "n2")
    return ("follower", 3, None) if t < 4600 else ("follower", 3, "n2")


def kill_run():
    h = oks(0, 3000)
    h += op(1, 2950, 4000, "info") + op(2, 3100, 3200, "fail")
    h += nemesis("kill", ["n1"], 3000)
    h += oks(4700, 10000, first_process=200)
    h += nemesis("start", ["n1"], 6000)
    h += op(9, 15000, 15010, "ok", f="read", final=True)    # after the recovery wait
    return h, samples(16000, kill_state)


def test_accepts_a_leader_kill_and_measures_each_gap():
    h, states = kill_run()
    r = check(h, states)
    assert r["valid"] is True and r["errors"] == [] and r["never_recovered"] is None
    assert r["longest_leaderless_s"] == pytest.approx(1.6)   # 3.0 s (n1 down) .. 4.6 s
    assert r["longest_no_ok_s"] == pytest.approx(1.8)        # last ok 3.0 s .. next ok 4.8 s
    [ep] = r["episodes"]
    assert ep == {"kind": "kill", "nodes": ["n1"], "start": 3000 * MS, "end": 6000 * MS,
                  "longest_leaderless_s": pytest.approx(1.6), "longest_no_ok_s": pytest.approx(1.8)}
    assert [(s["start"], s["end"]) for s in r["leaderless"]] == [(3000 * MS, 4600 * MS)]
    assert r["counts"] == {"samples": len(states), "ops": 2 + 30 + 53, "ok": 30 + 53}
    assert r["summary"] == ("longest without a leader 1.60 s, without an acknowledged op "
                            "1.80 s (1 fault episode(s))")


def test_idle_time_after_the_workload_is_not_unavailability():
    """The recovery wait between the workload's end (10 s) and the final read (15 s)."""
    h, states = kill_run()
    assert check(h, states)["longest_no_ok_s"] < 5


def test_a_long_outage_that_ends_is_a_figure_not_a_failure():
    """An election that takes 8 s is judged by the SLA checker (leader_election_s), not here."""
    def slow(t, node):
        return kill_state(t if t < 4000 else max(4000, t - 6500), node)
    h = oks(0, 3000) + nemesis("kill", ["n1"], 3000) + oks(11200, 16000, first_process=200)
    r = check(h, samples(16000, slow))
    assert r["valid"] is True and r["never_recovered"] is None
    assert r["longest_leaderless_s"] == pytest.approx(8.1)   # 3.0 s .. 11.1 s
    assert r["longest_no_ok_s"] == pytest.approx(8.3)        # 3.0 s .. 11.3 s


# -- a cluster that never recovers (issue 11's no-fsync run) ----------------------------

def dead_state(t, node):
    """n1 leads; n2 killed at 20.2 s never comes back; n1 killed at 25.2 s never comes back;
    n3 alone campaigns forever."""
    if node == "n2" and t >= 20200:
        return None
    if node == "n1" and t >= 25200:
        return None
    if t < 25200:
        return ("leader" if node == "n1" else "follower", 2, "n1")
    return ("candidate", 3 + (t - 25200) // 1000, None)


def dead_run():
    h = oks(0, 25000)
    h += nemesis("kill", ["n2"], 20200) + nemesis("start", ["n2"], 21000)
    h += nemesis("kill", ["n1"], 25200) + nemesis("start", ["n1"], 30200)
    for i, t in enumerate(range(26000, 43000, 1000)):    # timeouts until the workload ends
        h += op(500 + i, t, t + 1000, "info")
    h += op(9, 44000, 46000, "fail", f="read", final=True)
    return h, samples(46000, dead_state)


def test_rejects_a_cluster_that_never_recovers_naming_when():
    h, states = dead_run()
    r = check(h, states)
    assert r["valid"] is False
    assert r["summary"] == "no leader from 25.2 s to the end; no acknowledged op in the last 18 s"
    assert r["errors"] == [r["summary"]]
    never = r["never_recovered"]
    assert never["leader_from"] == 25200 * MS and never["no_ok_from"] == 25000 * MS
    assert never["no_ok_tail_s"] == pytest.approx(18.0)
    first, second = r["episodes"]
    assert first["longest_leaderless_s"] is None and second["longest_leaderless_s"] == pytest.approx(20.7)


def test_rejects_a_leader_that_acknowledges_nothing_after_the_faults():
    """Samples show a leader all along, yet no op is acknowledged for the last 20 s of the
    workload, long after every fault ended (and no final read succeeds)."""
    h = oks(0, 10000) + nemesis("pause", ["n3"], 9000) + nemesis("resume", ["n3"], 12000)
    for i, t in enumerate(range(11000, 30000, 1000)):
        h += op(500 + i, t, t + 1000, "info")
    states = samples(32000, lambda t, n: ("leader" if n == "n1" else "follower", 2, "n1"))
    r = check(h, states)
    assert r["valid"] is False
    assert r["never_recovered"]["leader_from"] is None
    assert r["summary"] == "no acknowledged op in the last 20 s"
    assert r["longest_leaderless_s"] is None


def test_accepts_the_same_tail_when_a_final_read_shows_recovery_or_it_is_shorter_than_grace():
    h = oks(0, 10000) + nemesis("pause", ["n3"], 9000) + nemesis("resume", ["n3"], 12000)
    for i, t in enumerate(range(11000, 30000, 1000)):
        h += op(500 + i, t, t + 1000, "info")
    states = samples(32000, lambda t, n: ("leader" if n == "n1" else "follower", 2, "n1"))
    rescued = check(h + op(9, 31000, 31010, f="read", final=True), states)
    assert rescued["valid"] is True and rescued["longest_no_ok_s"] == pytest.approx(20.0)
    assert check(h, states, grace_s=30)["valid"] is True


def test_an_isolated_leader_nobody_follows_is_no_leader():
    """n1 keeps claiming leadership after a cut at 1 s; n2 and n3 stop naming it at 1.5 s
    and elect n2 at 3 s: 1.5 s without a leader the majority follows."""
    def state(t, node):
        if node == "n1":
            return ("leader", 2, "n1")
        if t < 1500:
            return ("follower", 2, "n1")
        if t < 3000:
            return ("candidate", 3, None)
        return ("leader" if node == "n2" else "follower", 3, "n2")
    r = check(oks(0, 5000), samples(5000, state))
    assert r["longest_leaderless_s"] == pytest.approx(1.5) and r["valid"] is True
    stuck = samples(5000, lambda t, n: state(min(t, 2000), n))
    r = check(oks(0, 1400) + op(3, 1500, 4900, "info"), stuck)
    assert r["valid"] is False and r["summary"].startswith("no leader from 1.5 s to the end")


def test_the_majority_is_of_the_cluster_not_of_the_sampled_nodes():
    """Five nodes, two never sampled: a leader followed by two of the three sampled nodes
    is followed by 2 of 5, no majority."""
    def state(t, node):
        return ("leader" if node == "n1" else "follower", 2, "n1" if node != "n3" else None)
    h, states = oks(0, 2000), samples(2000, state)
    assert check(h, states)["never_recovered"] is None                 # 2 of 3 sampled
    five = check(h, states, nodes=("n1", "n2", "n3", "n4", "n5"))
    assert five["valid"] is False and five["summary"] == "no leader from 0.0 s to the end"


def test_nothing_to_judge_is_unknown():
    r = check([], [])
    assert r["valid"] == "unknown" and r["longest_leaderless_s"] is None
    assert r["summary"] == ("longest without a leader -, without an acknowledged op - "
                            "(0 fault episode(s))")
