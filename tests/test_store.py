"""The result store and the replay command, without any cluster: what a run leaves on
disk and the command that repeats it."""

import json
import shlex

from harness.cases import load_case
from harness.runner import RunOptions, replay_command
from harness.store import JsonlWriter, RunDir, resolve_run_dir


def test_history_lines_are_readable_after_flush_and_durable_after_close(tmp_path):
    w = JsonlWriter(tmp_path / "history.jsonl")
    w.write({"process": 0, "type": "invoke", "f": "write", "value": 1, "time": 5})
    w.flush()
    assert json.loads((tmp_path / "history.jsonl").read_text()) == {
        "process": 0, "type": "invoke", "f": "write", "value": 1, "time": 5}
    w.write({"process": 0, "type": "ok", "f": "write", "value": 1, "time": 9})
    w.close()
    w.write({"late": True})                      # after close: dropped, never a crash
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert [json.loads(x)["type"] for x in lines] == ["invoke", "ok"]


def test_run_dirs_are_unique_and_latest_points_at_the_newest(tmp_path):
    a = RunDir(tmp_path, "TC-AF-001", 7, started=1_700_000_000)
    b = RunDir(tmp_path, "TC-AF-001", 7, started=1_700_000_000)
    assert a.path != b.path and b.path.name.endswith(".2")
    assert (tmp_path / "latest").resolve() == b.path.resolve()
    assert a.path.parent.name == "tc-af-001" and (a.path / "nodes").is_dir()
    b.write_json("results.json", {"valid": True})
    assert json.loads((b.path / "results.json").read_text()) == {"valid": True}
    assert not list(b.path.glob("*.tmp"))
    assert resolve_run_dir(b.path) is None       # no history yet: not a run directory
    (b.path / "history.jsonl").write_text("")
    assert resolve_run_dir(b.path) == b.path.resolve()


def test_replay_command_repeats_every_option_that_shapes_the_run():
    case = load_case("tc-af-002")
    opts = RunOptions(case=case, nodes=3, seed=42, time_limit=20.0, rate=50.0,
                      db_opts=["bug=stale-read", "election_timeout_ms=300", "bug=early-ack"])
    argv = shlex.split(replay_command(opts, "harness/cases/tc-af-002.yaml"))
    assert argv[:3] == ["harness", "run", "harness/cases/tc-af-002.yaml"]
    assert argv[argv.index("--nodes") + 1] == "3" and argv[argv.index("--seed") + 1] == "42"
    assert argv[argv.index("--time-limit") + 1] == "20" and argv[argv.index("--rate") + 1] == "50"
    assert "--concurrency" not in argv and "--db" not in argv     # defaults are not repeated
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "--db-opt"]
    assert pairs == ["bug=stale-read", "election_timeout_ms=300", "bug=early-ack"]


def test_replay_command_names_another_database_and_quotes_paths():
    case = load_case("tc-af-001")
    opts = RunOptions(case=case, nodes=5, seed=1, db="etcd", db_opts=["pre_vote=true"])
    cmd = replay_command(opts, "/tmp/my cases/x.yaml")
    argv = shlex.split(cmd)
    assert argv[2] == "/tmp/my cases/x.yaml"
    assert argv[argv.index("--db") + 1] == "etcd" and "pre_vote=true" in argv
