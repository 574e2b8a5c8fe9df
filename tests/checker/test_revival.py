"""The revival checker: a node that did not come back is a finding; nodes that came back,
and revive events of other shapes, are not."""

from checker import RunContext, fault_timeline, run_check

KILL = {"process": "nemesis", "type": "info", "f": "kill",
        "value": {"nodes": ["n2"], "fault": "f1"}, "time": 1_000_000_000}
HEAL = {"process": "nemesis", "type": "info", "f": "heal",
        "value": {"fault": "f1", "ok": True}, "time": 6_000_000_000}
OPS = [{"process": 0, "type": "invoke", "f": "write", "key": "k", "value": 1, "time": 2},
       {"process": 0, "type": "info", "f": "write", "key": "k", "value": 1, "time": 3,
        "error": "timeout"}]


def not_back(node="n2", tail="booting\ncannot start Raft: index 697 does not follow index 0"):
    return {"process": "nemesis", "type": "info", "f": "revive", "time": 21_000_000_000,
            "value": {"node": node, "ok": False, "after": "end of kill",
                      "since_ns": 6_000_000_000, "bound_s": 15, "log_tail": tail}}


def test_nodes_that_came_back_are_valid_even_with_info_ops():
    r = run_check("revival", [KILL, *OPS, HEAL], RunContext())
    assert r == {"valid": True, "summary": "every node brought back answered", "errors": [],
                 "not_back": [], "checker": "revival"}


def test_a_node_that_did_not_come_back_fails_naming_it_and_its_last_log_line():
    r = run_check("revival", [KILL, *OPS, HEAL, not_back()], RunContext())
    assert r["valid"] is False
    assert r["summary"] == "1 node(s) did not come back: n2"
    assert r["errors"] == ["n2 did not come back after the end of kill at 6.0 s: no answer "
                           "within 15 s (last log line: cannot start Raft: index 697 does not "
                           "follow index 0)"]


def test_several_nodes_and_a_missing_log_are_all_listed():
    r = run_check("revival", [not_back("n3", ""), not_back("n1")], RunContext())
    assert r["valid"] is False and r["summary"].endswith("n1, n3")
    assert r["errors"][0].endswith("(no log)") and len(r["errors"]) == 2


def test_a_revive_event_is_an_observation_not_a_fault_episode():
    assert [f.kind for f in fault_timeline([KILL, HEAL, not_back()])] == ["kill"]
