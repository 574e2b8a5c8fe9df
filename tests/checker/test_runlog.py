"""The fault timeline read from nemesis events (checker.runlog)."""

from checker.runlog import fault_timeline


def _nem(type_, f, value, t):
    return {"process": "nemesis", "type": type_, "f": f, "value": value, "time": t}


def test_heal_of_one_fault_ends_only_that_fault():
    events = [
        _nem("invoke", "partition", {"fault": "f1", "grudge": {"n1": ["n2"]}}, 10),
        _nem("info", "partition", {"fault": "f1", "grudge": {"n1": ["n2"]}}, 12),
        _nem("invoke", "kill", {"fault": "f2", "nodes": ["n3"]}, 20),
        _nem("info", "kill", {"fault": "f2", "nodes": ["n3"]}, 22),
        _nem("info", "heal", {"fault": "f2", "ok": True}, 30),
    ]
    faults = {f.kind: f for f in fault_timeline(events)}
    assert faults["kill"].end == 30
    assert faults["partition"].end is None
    assert faults["partition"].start == 12 and faults["partition"].requested == 10


def test_heal_all_ends_every_fault_and_failed_faults_are_ignored():
    events = [
        _nem("info", "partition", {"fault": "f1", "grudge": {"n1": ["n2"]}}, 12),
        _nem("info", "pause", {"fault": "f2", "nodes": ["n2"]}, 14),
        _nem("info", "kill", {"fault": "f3", "nodes": ["n3"], "error": "boom"}, 15),
        _nem("info", "heal", {"fault": "all", "ok": True}, 40),
    ]
    faults = fault_timeline(events)
    assert [(f.kind, f.end) for f in faults] == [("partition", 40), ("pause", 40)]
