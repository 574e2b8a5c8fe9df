"""Zero-RPO checker: accepting and rejecting set histories (STYLE.md 6), with info ops."""

from hypothesis import given, settings
from hypothesis import strategies as st

from checker import RunContext, run_check


def check_rpo(history, states=(), nodes=None):
    """The rpo checker through the registry (check_safe: a crash is unknown)."""
    return run_check("rpo", history, RunContext(states=states, nodes=nodes))

MS = 1_000_000
NODES = ["n1", "n2", "n3"]


class H:
    """A tiny history builder: one client op at a time, times in ms."""

    def __init__(self):
        self.events, self.t = [], 0

    def tick(self):
        self.t += 1
        return self.t * MS

    def add(self, process, key, value, type_, node="n1", term=2, lsn=None):
        self.events.append({"process": process, "type": "invoke", "f": "add", "key": key,
                            "value": value, "time": self.tick()})
        done = {"process": process, "type": type_, "f": "add", "key": key, "value": value,
                "time": self.tick()}
        if type_ == "ok":
            done.update(node=node, term=term, lsn=lsn if lsn is not None else value)
        elif type_ in ("fail", "info"):
            done["error"] = "timeout" if type_ == "info" else "not_leader"
        self.events.append(done)

    def nemesis(self, f, value):
        self.events.append({"process": "nemesis", "type": "invoke", "f": f, "value": value,
                            "time": self.tick()})
        self.events.append({"process": "nemesis", "type": "info", "f": f, "value": value,
                            "time": self.tick()})

    def final(self, node, key, values, type_="ok", mode="local"):
        inv = {"process": "final", "type": "invoke", "f": "read", "key": key, "value": None,
               "time": self.tick(), "node": node, "mode": mode}
        done = {**inv, "type": type_, "time": self.tick()}
        done["value"] = values if type_ == "ok" else None
        self.events += [inv, done]

    def finals(self, contents, skip=()):
        """contents: key -> values; every node plus the linearizable read gets it."""
        for key, values in contents.items():
            for node in NODES:
                if (node, key) not in skip:
                    self.final(node, key, values)
            self.final("n2", key, values, mode="linearizable")


def base():
    h = H()
    h.add(1, "k1", 1, "ok")
    h.add(1, "k1", 2, "ok")
    h.add(2, "k1", 3, "fail")
    h.add(2, "k1", 4, "info")
    h.add(3, "k1", 5, "info")
    h.add(4, "k2", 10, "ok")
    return h


def states():
    return [{"time": t * MS, "node": n, "ok": True, "role": "leader" if n == "n1" else "follower",
             "term": 2, "leader": "n1", "commit": 0, "applied": 0, "last_index": 0}
            for t in range(0, 40, 5) for n in NODES]


def test_accepts_all_acked_present_with_a_recovered_info_add():
    h = base()
    h.finals({"k1": [1, 2, 4], "k2": [10]})
    r = check_rpo(h.events, states())
    assert r["valid"] is True
    assert r["counts"] == {"attempted": 6, "acknowledged": 3, "failed": 1, "indeterminate": 2,
                           "lost": 0, "unexpected": 0, "failed_present": 0, "duplicated": 0,
                           "recovered": 1}
    assert r["lost"] == [] and r["unexpected"] == [] and r["failed_present"] == []
    assert r["recovered"] == [{"key": "k1", "value": 4, "on": NODES + ["linearizable"]}]
    assert set(r["targets"]) == {"n1", "n2", "n3", "linearizable"}


def test_rejects_a_lost_acked_add_with_forensics():
    h = base()
    h.nemesis("partition", {"grudge": {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]}})
    h.add(5, "k1", 6, "ok", node="n1", term=2, lsn=77)
    h.finals({"k1": [1, 2, 4, 6], "k2": [10]}, skip={("n3", "k1")})
    h.final("n3", "k1", [1, 2, 4])
    r = check_rpo(h.events, states())
    assert r["valid"] is False
    assert r["counts"]["lost"] == 1 and r["counts"]["recovered"] == 1
    [lost] = r["lost"]
    assert lost["key"] == "k1" and lost["value"] == 6 and lost["missing_on"] == ["n3"]
    assert (lost["acked_by"], lost["term"], lost["lsn"]) == ("n1", 2, 77)
    assert lost["leader_then"] == {"node": "n1", "term": 2}
    assert [f["kind"] for f in lost["faults_then"]] == ["partition"]
    assert lost["faults_then"][0]["nodes"] == NODES
    assert r["targets"]["n3"]["valid"] is False and r["targets"]["n1"]["valid"] is True
    assert r["errors"] == ["n3: 1 acknowledged add(s) lost"]


def test_lost_from_the_linearizable_read_only():
    h = base()
    for node in NODES:
        h.final(node, "k1", [1, 2])
        h.final(node, "k2", [10])
    h.final("n1", "k1", [1], mode="linearizable")
    h.final("n1", "k2", [10], mode="linearizable")
    r = check_rpo(h.events, states())
    assert r["valid"] is False
    assert [(x["key"], x["value"], x["missing_on"]) for x in r["lost"]] == [
        ("k1", 2, ["linearizable"])]
    assert r["recovered"] == []


def test_rejects_unexpected_failed_present_and_duplicates():
    h = base()
    h.finals({"k1": [1, 2, 3, 99, 2], "k2": [10]})
    r = check_rpo(h.events, states())
    assert r["valid"] is False
    on = NODES + ["linearizable"]
    assert r["unexpected"] == [{"key": "k1", "value": 99, "on": on}]
    assert r["failed_present"] == [{"key": "k1", "value": 3, "on": on}]
    assert r["duplicated"] == [{"key": "k1", "value": 2, "on": on}]
    assert r["lost"] == [] and r["recovered"] == []


def test_values_read_on_a_key_never_written_are_unexpected():
    h = base()
    h.finals({"k1": [1, 2], "k2": [10], "k9": [5]})
    r = check_rpo(h.events, states())
    assert r["valid"] is False
    assert r["unexpected"] == [{"key": "k9", "value": 5, "on": NODES + ["linearizable"]}]


def test_missing_or_failed_final_read_makes_that_node_unknown():
    h = base()
    h.finals({"k1": [1, 2], "k2": [10]}, skip={("n2", "k1"), ("n3", "k2")})
    h.final("n2", "k1", None, type_="info")
    r = check_rpo(h.events, states())
    assert r["valid"] == "unknown"
    assert r["targets"]["n2"]["valid"] == "unknown"
    assert r["targets"]["n2"]["unknown"] == [{"key": "k1", "why": "final read info",
                                              "error": None}]
    assert r["targets"]["n3"]["unknown"] == [{"key": "k2", "why": "no final read", "error": None}]
    assert r["targets"]["n1"]["valid"] is True


def test_a_node_with_state_samples_but_no_final_reads_is_unknown():
    h = base()
    h.finals({"k1": [1, 2], "k2": [10]})
    extra = [{"time": 1, "node": "n4", "ok": True, "role": "follower", "term": 2}]
    r = check_rpo(h.events, states() + extra)
    assert r["valid"] == "unknown"
    assert r["targets"]["n4"]["valid"] == "unknown"


def test_a_node_that_refused_its_corrupted_wal_is_not_read_but_one_that_answered_is():
    def run(answered, exited):
        h = base()
        h.finals({"k1": [1, 2], "k2": [10]}, skip={("n3", "k1"), ("n3", "k2")})
        h.nemesis("revive", {"node": "n3", "expect": "refusal", "answered": answered,
                             "exited": exited})
        return check_rpo(h.events, states(), nodes=NODES)
    r = run(answered=False, exited=True)
    assert r["valid"] is True and "n3" not in r["targets"], r
    assert r["refused_to_start"] == ["n3"]
    for answered, exited in ((True, False), (False, False)):
        r = run(answered, exited)
        assert r["valid"] == "unknown" and r["targets"]["n3"]["valid"] == "unknown"


def test_loss_wins_over_unknown():
    h = base()
    h.finals({"k1": [1], "k2": [10]}, skip={("n2", "k2")})
    assert check_rpo(h.events, states())["valid"] is False


def test_no_acknowledged_add_is_unknown_not_valid():
    h = H()
    h.add(1, "k1", 1, "info")
    h.finals({"k1": []})
    r = check_rpo(h.events, [])
    assert r["valid"] == "unknown"
    assert r["errors"] == ["no acknowledged add in the history: nothing to check"]


def test_a_crashing_checker_is_unknown():
    bad = [{"process": 1, "type": "ok", "f": "add", "key": "k", "value": 1, "time": 5}]
    r = check_rpo(bad, [])
    assert r["valid"] == "unknown" and "BadHistory" in r["error"]


ADD = st.tuples(st.sampled_from(["k1", "k2"]), st.sampled_from(["ok", "fail", "info"]), st.booleans())


@settings(max_examples=60, deadline=None)
@given(st.lists(ADD, min_size=1, max_size=25), st.data())
def test_generated_valid_histories_stay_valid_and_any_deletion_is_caught(adds, data):
    h, truth = H(), {"k1": [], "k2": []}
    for i, (key, type_, lands) in enumerate(adds):
        h.add(100 + i, key, i, type_)
        if type_ == "ok" or (type_ == "info" and lands):
            truth[key].append(i)
    good = H()
    good.events = list(h.events)
    good.t = h.t
    good.finals(truth)
    r = check_rpo(good.events, [])
    acked = [(k, v) for k, vs in truth.items() for v in vs
             if any(e["type"] == "ok" and e["value"] == v for e in h.events)]
    assert r["valid"] is (True if acked else "unknown")
    assert r["lost"] == [] and r["counts"]["acknowledged"] == len(acked)
    if not acked:
        return
    key, value = data.draw(st.sampled_from(acked))
    node = data.draw(st.sampled_from(NODES))
    bad = H()
    bad.events, bad.t = list(h.events), h.t
    bad.finals(truth, skip={(node, key)})
    bad.final(node, key, [v for v in truth[key] if v != value])
    r = check_rpo(bad.events, [])
    assert r["valid"] is False
    assert [(x["key"], x["value"], x["missing_on"]) for x in r["lost"]] == [(key, value, [node])]
