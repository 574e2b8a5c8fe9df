"""Split-brain checker: accepting and rejecting runs (STYLE.md 6), info ops in the fixtures."""

from hypothesis import given, settings
from hypothesis import strategies as st

from checker import RunContext, run_check


def check_split_brain(history, states=(), node_events=(), step_down_sla_s=None):
    """The split-brain checker through the registry (check_safe: a crash is unknown)."""
    thresholds = {} if step_down_sla_s is None else {"split_brain_detect_s": step_down_sla_s}
    return run_check("split-brain", history, RunContext(states=states, node_events=node_events,
                                                        thresholds=thresholds))

MS = 1_000_000
ISOLATE_N1 = {"grudge": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}}
ISOLATE_N3 = {"grudge": {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]}}


def write(process, t0, t1, type_="ok", node="n1", term=2, lsn=None, value=None):
    inv = {"process": process, "type": "invoke", "f": "write", "key": "k1",
           "value": value if value is not None else process, "time": t0 * MS}
    done = {**inv, "type": type_, "time": t1 * MS}
    if type_ == "ok":
        done.update(node=node, term=term, lsn=lsn)
    return [inv, done]


def read(process, t0, t1, node="n1", term=2, lsn=0):
    inv = {"process": process, "type": "invoke", "f": "read", "key": "k1", "value": None,
           "time": t0 * MS}
    return [inv, {**inv, "type": "ok", "value": 1, "time": t1 * MS, "node": node, "term": term,
                  "lsn": lsn}]


def nemesis(f, value, t):
    return [{"process": "nemesis", "type": "invoke", "f": f, "value": value, "time": (t - 1) * MS},
            {"process": "nemesis", "type": "info", "f": f, "value": value, "time": t * MS}]


def ev(node, kind, term, t):
    return {"node": node, "kind": kind, "term": term, "time": t * MS}


def samples(upto_ms, leader="n1", term=2, start=0):
    return [{"time": t * MS, "node": n, "ok": True, "role": "leader" if n == leader else "follower",
             "term": term, "leader": leader, "commit": 0, "applied": 0}
            for t in range(start, upto_ms, 50) for n in ("n1", "n2", "n3")]


def good_run():
    h = (write(1, 0, 10, lsn=1) + write(2, 12, 20, lsn=2) + read(3, 21, 22, lsn=2)
         + write(4, 25, 30, type_="info")
         + nemesis("partition", ISOLATE_N1, 100)
         + write(5, 2000, 2010, node="n2", term=3, lsn=4) + write(6, 2020, 2030, node="n2",
                                                                  term=3, lsn=5)
         + nemesis("heal", None, 9000))
    events = [ev("n1", "became_leader", 2, 0), ev("n1", "check_quorum_step_down", 2, 1100),
              ev("n2", "election_timeout", 2, 1200), ev("n2", "became_leader", 3, 1300)]
    states = samples(100) + samples(3000, leader="n2", term=3, start=1350)
    return h, states, events


def test_accepts_one_leader_per_term_and_a_timely_step_down():
    h, states, events = good_run()
    r = check_split_brain(h, states, events)
    assert r["valid"] is True and r["violations"] == [] and r["errors"] == []
    assert r["leaders_per_term"] == {"events": {"2": ["n1"], "3": ["n2"]},
                                     "samples": {"2": ["n1"], "3": ["n2"]}}
    [sd] = r["step_downs"]
    assert sd == {"fault_start": 100 * MS, "fault_end": 9000 * MS, "leader": "n1", "term": 2,
                  "stepped_down_at": 1100 * MS, "seconds": 1.0}
    assert r["max_step_down_s"] == 1.0
    assert r["counts"]["acked_writes_with_lsn"] == 4


def test_rejects_two_leaders_in_one_term_from_events():
    h, states, events = good_run()
    events.append(ev("n3", "became_leader", 3, 1400))
    r = check_split_brain(h, states, events)
    assert r["valid"] is False
    [v] = r["violations"]
    assert (v["kind"], v["source"], v["term"], v["nodes"]) == (
        "two_leaders_in_term", "events", 3, ["n2", "n3"])


def test_rejects_two_leaders_in_one_term_from_samples():
    h, states, events = good_run()
    states.append({"time": 1500 * MS, "node": "n3", "ok": True, "role": "leader", "term": 3})
    r = check_split_brain(h, states, events)
    assert [(v["kind"], v["source"], v["nodes"]) for v in r["violations"]] == [
        ("two_leaders_in_term", "samples", ["n2", "n3"])]


def test_rejects_divergent_lsn_and_two_acking_nodes():
    h, states, events = good_run()
    h += write(7, 2040, 2050, node="n1", term=3, lsn=6) + write(8, 2040, 2055, node="n2",
                                                                 term=3, lsn=6)
    r = check_split_brain(h, states, events)
    assert r["valid"] is False
    kinds = sorted(v["kind"] for v in r["violations"])
    assert kinds == ["divergent_lsn", "two_nodes_acked_in_term"]
    div = next(v for v in r["violations"] if v["kind"] == "divergent_lsn")
    assert div["lsn"] == 6 and div["same_term_and_node"] is False
    assert [(o["node"], o["term"]) for o in div["ops"]] == [("n1", 3), ("n2", 3)]
    two = next(v for v in r["violations"] if v["kind"] == "two_nodes_acked_in_term")
    assert two["term"] == 3 and two["nodes"] == ["n1", "n2"]


def test_rejects_an_lsn_that_goes_backwards_in_real_time():
    h, states, events = good_run()
    h += write(9, 2100, 2110, node="n2", term=3, lsn=3)
    r = check_split_brain(h, states, events)
    [v] = r["violations"]
    assert v["kind"] == "lsn_order"
    assert (v["earlier"]["lsn"], v["later"]["lsn"]) == (5, 3)
    assert v["later"]["process"] == 9


def test_rejects_a_slow_step_down():
    h, states, events = good_run()
    events[1] = ev("n1", "check_quorum_step_down", 2, 5200)
    states = samples(100) + samples(3000, leader="n2", term=3, start=5250)
    r = check_split_brain(h, states, events)
    assert r["valid"] is False
    [v] = r["violations"]
    assert v["kind"] == "slow_step_down" and v["leader"] == "n1" and v["seconds"] == 5.1


def test_rejects_a_leader_that_never_steps_down():
    h, states, events = good_run()
    del events[1]
    states = samples(100) + [s for s in samples(3000, leader="n2", term=3, start=1350)
                             if s["node"] != "n1"]
    r = check_split_brain(h, states, events)
    [v] = r["violations"]
    assert v["kind"] == "no_step_down" and v["leader"] == "n1" and v["fault_end"] == 9000 * MS


def test_a_sample_showing_another_role_counts_as_the_step_down():
    h, states, events = good_run()
    del events[1]
    r = check_split_brain(h, states, events)
    assert r["valid"] is True
    assert r["step_downs"][0]["seconds"] == 1.25  # first non-leader sample of n1, at 1350 ms


def test_a_partition_healed_before_the_sla_is_not_measured():
    h = write(1, 0, 10, lsn=1) + nemesis("partition", ISOLATE_N1, 100) + nemesis("heal", None, 1000)
    r = check_split_brain(h, samples(1000), [ev("n1", "became_leader", 2, 0)])
    assert r["valid"] is True
    assert r["step_downs"][0]["seconds"] is None and "violation" not in r["step_downs"][0]
    assert r["max_step_down_s"] is None


def test_a_partition_isolating_a_follower_is_no_episode():
    h = write(1, 0, 10, lsn=1) + nemesis("partition", ISOLATE_N3, 100) + nemesis("heal", None, 9000)
    r = check_split_brain(h, samples(9000), [ev("n1", "became_leader", 2, 0)])
    assert r["valid"] is True and r["step_downs"] == []


def test_nothing_to_check_is_unknown_and_a_crash_is_unknown():
    assert check_split_brain([], [], [])["valid"] == "unknown"
    r = check_split_brain([{"process": 1, "type": "ok", "f": "write", "time": 1}], [], [])
    assert r["valid"] == "unknown" and "BadHistory" in r["error"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=2, max_size=20), st.data())
def test_sequential_increasing_lsns_pass_and_a_swap_is_caught(gaps, data):
    h, lsn, t = [], 0, 0
    for i, gap in enumerate(gaps):
        lsn += gap
        h += write(10 + i, t, t + 5, lsn=lsn)
        t += 10
    assert check_split_brain(h, [], [])["valid"] is True
    i = data.draw(st.integers(0, len(gaps) - 2))
    j = data.draw(st.integers(i + 1, len(gaps) - 1))
    ok_i, ok_j = h[2 * i + 1], h[2 * j + 1]
    ok_i["lsn"], ok_j["lsn"] = ok_j["lsn"], ok_i["lsn"]
    r = check_split_brain(h, [], [])
    assert r["valid"] is False
    assert {v["kind"] for v in r["violations"]} == {"lsn_order"}


def test_a_step_down_after_the_heal_was_asked_for_is_not_credited_to_the_partition():
    """The heal lifts the cut before its verification finishes: a leader that stepped down
    only then never stepped down while isolated (lease-no-check-quorum shows exactly this)."""
    h = (write(1, 0, 10, lsn=1) + nemesis("partition", ISOLATE_N1, 100)
         + [{"process": "nemesis", "type": "invoke", "f": "end", "value": {"fault": "f1"},
             "time": 6000 * MS},
            {"process": "nemesis", "type": "info", "f": "heal",
             "value": {"fault": "f1", "ok": True}, "time": 6800 * MS}])
    h[2]["value"] = h[3]["value"] = {**ISOLATE_N1, "fault": "f1"}
    events = [ev("n1", "became_leader", 2, 0), ev("n1", "became_follower", 3, 6300)]
    r = check_split_brain(h, samples(6000), events, step_down_sla_s=5.0)
    [sd] = r["step_downs"]
    assert sd["stepped_down_at"] is None and sd["violation"]["kind"] == "no_step_down"
    assert r["valid"] is False and r["max_step_down_s"] is None
