"""The elections checker on hand-written state logs (layer: tests): elections counted
during each fault and after its heal; a node whose term goes down is rejected; no
samples is unknown."""

import checker
from checker import RunContext
from checker.runlog import Fault

S = 1_000_000_000


def sample(t, node, term, role="follower", ok=True):
    return {"time": int(t * S), "node": node, "ok": ok, "term": term, "role": role}


def isolate(start, end, node="n3"):
    return Fault("partition", ["n1", "n2", "n3"], {"isolated": node}, int(start * S),
                 None if end is None else int(end * S))


def steady(t0, t1, leader, term, nodes=("n1", "n2", "n3")):
    out = []
    t = t0
    while t < t1:
        out += [sample(t, n, term, "leader" if n == leader else "follower") for n in nodes]
        t += 0.5
    return out


def run(states, faults, node_events=()):
    return checker.run_check("elections", [], RunContext(states=states, faults=faults,
                                                          node_events=node_events))


def test_rejoin_without_pre_vote_counts_an_election_after_the_heal():
    # n1 leads term 2; n3 is isolated 5-10 s and campaigns (terms 3..6); on rejoin its term
    # deposes n1 and n2 wins term 7 after the heal.
    states = steady(0, 5, "n1", 2)
    states += [sample(5 + i, "n3", 3 + i, "candidate") for i in range(4)]
    states += steady(5, 10, "n1", 2, nodes=("n1", "n2"))
    states += steady(10.2, 15, "n2", 7)
    r = run(states, [isolate(5, 10)])
    assert r["valid"] is True, r
    assert (r["elections"], r["elections_after_heal"],
            r["episodes_with_election_after_heal"]) == (1, 1, 1)
    assert r["episodes"] == [{"kind": "partition", "nodes": ["n1", "n2", "n3"], "start_s": 5.0,
                              "end_s": 10.0, "elections_during": 0, "elections_after_heal": 1,
                              "terms_after_heal": [7]}]
    assert r["leader_terms"] == {"2": 0.0, "7": 10.2}
    assert r["summary"] == "1 election(s); 1 after a heal (1 of 1 fault(s))"
    assert r["lines"] == ["- partition 5.0 s to 10.0 s: 0 election(s) during, 1 after the heal "
                          "(term 7)"]


def test_rejoin_with_pre_vote_has_no_election_after_the_heal():
    # The isolated leader n1 steps down; n2 wins term 3 during the fault; n1 rejoins quietly.
    states = steady(0, 5, "n1", 2)
    states += steady(6.5, 10, "n2", 3, nodes=("n2", "n3")) + steady(10.5, 15, "n2", 3)
    states += [sample(6 + i * 0.5, "n1", 2, "pre_candidate") for i in range(8)]
    r = run(states, [isolate(5, 10, "n1"), isolate(16, None)])
    assert r["valid"] is True
    assert [(e["elections_during"], e["elections_after_heal"]) for e in r["episodes"]] == [
        (1, 0), (0, 0)]
    assert (r["elections"], r["elections_after_heal"]) == (1, 0)


def test_after_heal_window_ends_at_the_next_fault():
    states = steady(0, 5, "n1", 2) + steady(12, 14, "n2", 5)
    r = run(states, [isolate(5, 8), isolate(11, 13)])
    assert [e["elections_after_heal"] for e in r["episodes"]] == [0, 0]
    assert [e["elections_during"] for e in r["episodes"]] == [0, 1]


def test_node_events_count_too():
    states = steady(0, 3, "n1", 2)
    events = [{"time": int(4 * S), "node": "n2", "kind": "became_leader", "term": 4}]
    r = run(states, [isolate(1, 3.5)], events)
    assert r["leader_terms"] == {"2": 0.0, "4": 4.0}
    assert r["elections_after_heal"] == 1


def test_a_term_going_down_is_rejected():
    states = steady(0, 3, "n1", 5) + [sample(3.5, "n2", 4)] + steady(4, 5, "n1", 5)
    r = run(states, [])
    assert r["valid"] is False
    assert r["term_regressions"] == [{
        "node": "n2", "time_s": 3.5, "term": 4, "previous_term": 5, "previous_time_s": 2.5,
        "message": "n2: term went down from 5 (at 2.5 s) to 4 (at 3.5 s)"}]
    assert r["summary"] == r["errors"][0]


def test_a_node_that_does_not_answer_does_not_reset_its_term():
    states = steady(0, 2, "n1", 5) + [sample(2.2, "n2", None, ok=False),
                                      sample(2.4, "n2", 5)]
    assert run(states, [])["valid"] is True


def test_no_samples_is_unknown_never_valid():
    r = run([sample(1, "n1", None, ok=False)], [isolate(0, 1)])
    assert r["valid"] == "unknown" and r["error"] == "no state samples with a term"
