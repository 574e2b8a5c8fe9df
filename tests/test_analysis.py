"""harness.analysis on small run directories written here (no cluster): what runs comes from
the case, the workloads and the checker registry; the verdict merge and exit codes; the
report lines of what it found."""

import json

import pytest
import yaml

from harness import analysis, report
from harness.cases import find_case
from harness.errors import BadInput
from workloads import WORKLOADS, RegisterWorkload

MS = 1_000_000
NODES = ["n1", "n2", "n3"]
ALL = ["linearizable", "rpo", "split-brain", "sla", "availability", "perf"]


def case(checkers=ALL, workloads=("register", "set"), **extra):
    raw = yaml.safe_load(find_case("tc-af-002").read_text())
    raw.update(checkers=list(checkers), workloads=[{"name": w, "keys": 1} for w in workloads],
               nodes=3, **extra)
    return raw


class Run:
    """A run directory's files, built event by event; times in ms."""

    def __init__(self):
        self.history, self.states, self.lsn, self.process = [], [], 0, 0
        self.acked = []

    def client(self, workload, f, key, value, t0, t1, type_="ok", node="n1", term=2, read=None):
        self.process += 1
        inv = {"process": self.process, "type": "invoke", "f": f, "key": key,
               "value": value, "time": t0 * MS, "workload": workload}
        done = {**inv, "type": type_, "time": t1 * MS}
        if type_ == "ok":
            self.lsn += 1
            done.update(node=node, term=term, lsn=self.lsn)
            if f == "read":
                done["value"] = read
        else:
            done["error"] = "timeout" if type_ == "info" else "not_leader"
        self.history += [inv, done]

    def final(self, key, values, node=None, mode="local", type_="ok"):
        t = self.history[-1]["time"] // MS + 10
        extra = {"mode": mode, **({"node": node} if node else {})}
        inv = {"process": "final", "type": "invoke", "f": "read", "key": key, "value": None,
               "time": t * MS, "workload": "set", **extra}
        done = {**inv, "type": type_, "time": (t + 5) * MS,
                "value": values if type_ == "ok" else None}
        self.history += [inv, done]

    def nemesis(self, f, nodes, t):
        value = {"nodes": nodes}
        self.history += [
            {"process": "nemesis", "type": "invoke", "f": f, "value": value, "time": (t - 1) * MS},
            {"process": "nemesis", "type": "info", "f": f, "value": value, "time": t * MS}]

    def sample_all(self, until, state):
        for t in range(0, until, 100):
            for node in NODES:
                s = state(t, node)
                self.states.append({"time": t * MS, "node": node, "ok": False, "error": "down"}
                                   if s is None else {"time": t * MS, "node": node, "ok": True,
                                                      "role": s[0], "term": s[1], "leader": s[2],
                                                      "commit": 5, "applied": 5})

    def write(self, path, raw_case):
        path.mkdir(parents=True, exist_ok=True)
        (path / "case.yaml").write_text(yaml.safe_dump(raw_case))
        (path / "run.json").write_text(json.dumps({"wall_start": 0.0, "nodes": NODES,
                                                   "seed": 7}))
        for name, rows in (("history.jsonl", self.history), ("states.jsonl", self.states)):
            (path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path


def failover_state(t, node):
    """n1 leads term 2; killed at 3 s; n2 leads term 3 from 4 s; n1 back at 6 s."""
    if t < 3000:
        return ("leader" if node == "n1" else "follower", 2, "n1")
    if node == "n1":
        return None if t < 6000 else ("follower", 3, "n2")
    if t < 3500:
        return ("follower", 2, "n1")
    if t < 4000:
        return ("candidate", 3, None)
    return ("leader" if node == "n2" else "follower", 3, "n2")


def good_run(lose_on=None, sample=failover_state, until=9000):
    """Sequential register writes/reads and set adds around a leader kill the cluster
    survives; `lose_on`: a node whose final read misses the first acknowledged add."""
    run, value, added = Run(), 0, []
    for t in range(100, until - 1000, 100):
        if 3000 <= t < 4200:
            continue
        node, term = ("n1", 2) if t < 3000 else ("n2", 3)
        value += 1
        run.client("register", "write", "k0", value, t, t + 20, node=node, term=term)
        run.client("register", "read", "k0", None, t + 30, t + 40, node=node, term=term,
                   read=value)
        run.client("set", "add", "s0", value, t + 50, t + 60, node=node, term=term)
        added.append(value)
    run.client("register", "write", "k0", 999, 2990, 3500, type_="info")
    run.client("set", "add", "s0", 998, 2995, 3100, type_="fail")
    run.nemesis("kill", ["n1"], 3000)
    run.nemesis("start", ["n1"], 6000)
    for node in NODES:
        run.final("s0", added[1:] if node == lose_on else added, node=node)
    run.final("s0", added, mode="linearizable")
    run.sample_all(until, sample)
    return run


def analyze(tmp_path, run, raw_case):
    return analysis.analyze(run.write(tmp_path / "run", raw_case))


def test_a_good_run_is_valid_with_every_check_the_case_names(tmp_path):
    r = analyze(tmp_path, good_run(), case())
    assert list(r["checks"]) == ALL
    bad = {k: (c["valid"], c.get("errors") or c.get("error")) for k, c in r["checks"].items()
           if c["valid"] is not True}
    assert bad == {} and r["valid"] is True and r["exit_code"] == 0
    assert r["checks"]["linearizable"]["workload"] == "register"
    assert r["checks"]["linearizable"]["model"] == "cas-register"
    assert r["checks"]["rpo"]["counts"]["acknowledged"] > 40
    slas = {s["name"]: s for s in r["checks"]["sla"]["slas"]}
    assert slas["leader_election_s"]["measured"] == pytest.approx(1.0)
    assert r["checks"]["availability"]["longest_leaderless_s"] == pytest.approx(1.0)
    assert all(c["summary"] for c in r["checks"].values())
    assert r["case"] == "TC-AF-002" and r["nodes"] == NODES and r["seed"] == 7


def test_a_lost_write_fails_the_run_and_the_report_names_it(tmp_path):
    r = analyze(tmp_path, good_run(lose_on="n3"), case())
    assert r["valid"] is False and r["exit_code"] == 1
    assert r["checks"]["rpo"]["valid"] is False
    assert {k for k, c in r["checks"].items() if c["valid"] is not True} == {"rpo"}
    lines = report.summary_lines(r)
    assert lines[0] == "=== TC-AF-002: FAILED ==="
    assert "✗ rpo            False: " in "\n".join(lines)
    assert "    - n3: 1 acknowledged add(s) lost" in lines


def test_a_crashing_checker_is_unknown_and_a_violation_still_wins(tmp_path):
    run = good_run()
    run.history.append({"process": 77, "type": "ok", "f": "write", "key": "k0", "value": 5,
                        "time": 9999 * MS, "workload": "register"})   # ok with no invoke
    r = analyze(tmp_path / "a", run, case())
    lin = r["checks"]["linearizable"]
    assert lin["valid"] == "unknown" and "BadHistory" in lin["error"]
    assert r["checks"]["rpo"]["valid"] is True
    assert r["valid"] == "unknown" and r["exit_code"] == 2
    lost = good_run(lose_on="n2")
    lost.history.append(run.history[-1])
    r = analyze(tmp_path / "b", lost, case())
    assert r["checks"]["linearizable"]["valid"] == "unknown"
    assert r["checks"]["rpo"]["valid"] is False
    assert r["valid"] is False and r["exit_code"] == 1


def test_a_cluster_that_never_recovers_fails_availability_and_election(tmp_path):
    def dead(t, node):
        return failover_state(min(t, 3700), node) if node != "n1" or t < 3000 else None
    run = good_run(sample=dead)
    r = analyze(tmp_path, run, case(checkers=["sla", "availability"]))
    assert r["valid"] is False and r["exit_code"] == 1
    av = r["checks"]["availability"]
    assert av["valid"] is False and av["summary"].startswith("no leader from 3.0 s to the end")
    slas = {s["name"]: s for s in r["checks"]["sla"]["slas"]}
    assert slas["leader_election_s"]["measured"] == "never"
    assert slas["leader_election_s"]["pass"] is False
    text = "\n".join(report.summary_lines(r))
    assert "✗ FAIL (never) leader_election_s: never happened in 1 of 1 episode(s) < 5 s" in text
    assert "✗ availability   False: no leader from 3.0 s to the end" in text


def test_unreadable_nemesis_events_make_the_checks_unknown_not_a_crash(tmp_path):
    run = good_run()
    run.history.append({"process": "nemesis", "type": "info", "value": {"nodes": ["n1"]},
                        "time": 9500 * MS})   # no "f"
    r = analyze(tmp_path, run, case(checkers=["sla", "perf"]))
    assert {k: c["valid"] for k, c in r["checks"].items()} == {"sla": "unknown",
                                                               "perf": "unknown"}
    assert "KeyError" in r["checks"]["sla"]["error"] and r["exit_code"] == 2


def test_a_workload_checker_no_workload_runs_is_unknown_not_silently_absent(tmp_path):
    r = analyze(tmp_path, good_run(), case(checkers=["linearizable", "perf"],
                                          workloads=("set",)))
    lin = r["checks"]["linearizable"]
    assert lin == {"checker": "linearizable", "valid": "unknown",
                   "error": "no workload of the case is checked by linearizable (workloads: set)",
                   "summary": "no workload of the case is checked by linearizable (workloads: set)"}
    assert r["checks"]["perf"]["valid"] is True and r["valid"] == "unknown"


def test_only_the_checkers_the_case_names_run(tmp_path):
    r = analyze(tmp_path, good_run(), case(checkers=["rpo", "perf"]))
    assert list(r["checks"]) == ["rpo", "perf"] and r["valid"] is True


class CounterWorkload(RegisterWorkload):
    """A second register-like workload, registered only by the test below."""
    name = "counter"


def test_two_workloads_with_one_checker_get_distinct_keys(tmp_path, monkeypatch):
    monkeypatch.setitem(WORKLOADS, "counter", CounterWorkload)
    raw = case(checkers=["linearizable"], workloads=("register", "counter"))
    assert [(k, n, o, w) for k, n, o, w in analysis.check_plan(_parsed(raw))] == [
        ("linearizable:register", "linearizable", {"model": "cas-register",
                                                   "workload": "register"}, "register"),
        ("linearizable:counter", "linearizable", {"model": "cas-register",
                                                  "workload": "counter"}, "counter")]
    run = good_run()
    for e in list(run.history):
        if e.get("workload") == "register":   # the counter sees a stale read: not linearizable
            run.history.append({**e, "workload": "counter", "process": e["process"] + 10_000})
    stale = [e for e in run.history if e.get("workload") == "counter" and e["f"] == "read"
             and e["type"] == "ok"][5]
    stale["value"] = 1
    r = analyze(tmp_path, run, raw)
    assert r["checks"]["linearizable:register"]["valid"] is True
    assert r["checks"]["linearizable:counter"]["valid"] is False
    assert r["checks"]["linearizable:counter"]["workload"] == "counter"
    assert r["valid"] is False


def _parsed(raw):
    from harness.cases import parse_case
    return parse_case(raw, "x.yaml")


def test_an_unknown_checker_in_the_case_is_bad_input_naming_it(tmp_path):
    path = good_run().write(tmp_path / "run", case(checkers=["rpo", "psychic"]))
    with pytest.raises(BadInput, match=r"checkers\[1\].*psychic"):
        analysis.analyze(path)


def test_a_missing_file_is_bad_input_naming_it(tmp_path):
    path = good_run().write(tmp_path / "run", case())
    (path / "history.jsonl").unlink()
    with pytest.raises(BadInput, match="missing history.jsonl"):
        analysis.analyze(path)


@pytest.mark.parametrize("content,needle", [
    ("[1, 2]", "expected a JSON object, got list"),
    ("{\"nodes\": [\"n1\"]}", "field 'wall_start' must be a number"),
    ("{\"wall_start\": NaN}", "field 'wall_start' must be a number"),
    ("{\"wall_start\": 0, \"nodes\": \"n1\"}", "field 'nodes' must be a list"),
    ("{not json", "not a readable JSON object"),
])
def test_a_bad_run_json_is_one_line_naming_the_field(tmp_path, content, needle):
    path = good_run().write(tmp_path / "run", case())
    (path / "run.json").write_text(content)
    with pytest.raises(BadInput) as err:
        analysis.analyze(path)
    assert needle in str(err.value) and "run.json" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_torn_history_line_in_the_middle_is_bad_input_naming_the_line(tmp_path):
    path = good_run().write(tmp_path / "run", case())
    lines = (path / "history.jsonl").read_text().splitlines()
    lines[3] = lines[3][:10]
    (path / "history.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(BadInput, match=r"history.jsonl:4: not valid JSON"):
        analysis.analyze(path)
