"""The progress display (harness.progress), on an injected clock: no waits, no cluster."""

from harness.progress import Progress


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_elapsed_counts_from_the_workload_start_not_provisioning(capsys):
    clock = Clock()
    p = Progress("TC-AF-002", 60, clock=clock)
    clock.now += 66.0                  # image build and provisioning
    assert p.elapsed() == 0.0
    p.phase = "workload + nemesis"
    p.start()
    clock.now += 71.0
    p.tick("n2")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("[TC-AF-002] workload + nemesis 71s/60s ok=0 fail=0 info=0 leader=n2")
    assert "137s" not in line


def test_events_count_ops_and_track_faults_until_their_heal():
    p = Progress("X", 10, quiet=True, clock=Clock())
    for t in ("ok", "ok", "fail", "info", "invoke"):
        p.on_event({"process": 1, "type": t, "f": "write"})
    p.on_event({"process": "nemesis", "type": "info", "f": "kill",
                "value": {"fault": "f1", "nodes": ["n1"]}})
    p.on_event({"process": "nemesis", "type": "info", "f": "partition",
                "value": {"fault": "f2", "shape": "isolate-one", "node": "n3"}})
    p.on_event({"process": "nemesis", "type": "info", "f": "pause",
                "value": {"fault": "f3", "nodes": ["n2"], "error": "boom"}})
    assert p.counts == {"ok": 2, "fail": 1, "info": 1}
    assert p.faults == {"f1": "kill n1", "f2": "partition isolate-one n3"}
    p.on_event({"process": "nemesis", "type": "info", "f": "heal", "value": {"fault": "f1"}})
    assert list(p.faults) == ["f2"]
    p.on_event({"process": "nemesis", "type": "info", "f": "heal", "value": {"fault": "all"}})
    assert p.faults == {}


def test_quiet_prints_nothing(capsys):
    p = Progress("X", 10, quiet=True, clock=Clock())
    p.say("hello")
    p.start()
    p.tick(None)
    assert capsys.readouterr().err == ""
