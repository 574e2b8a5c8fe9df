"""The command line's ways out: one line on stderr, DESIGN.md exit codes, never a traceback.

argparse errors (254, no usage block), harness bugs (255, a crash log of their own, even
when no log can be written), a closed stdout (the verdict's exit code), a bad --store
(254), and start-up: `harness check FILE` imports only what checking needs."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cli
from harness.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path, *events, name="h.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps({"key": None, **e}) + "\n" for e in events))
    return path


def ev(process, type_, f, value=None, time=0):
    return {"process": process, "type": type_, "f": f, "value": value, "time": time}


VALID = [ev(1, "invoke", "write", 1, 0), ev(1, "ok", "write", 1, 1),
         ev(2, "invoke", "read", None, 2), ev(2, "ok", "read", 1, 3)]
INVALID = VALID[:3] + [ev(2, "ok", "read", 2, 3)]


def run_main(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv,message", [
    ([], "harness: error: the following arguments are required: COMMAND (see harness --help)"),
    (["chek", "x"], "harness: error: argument COMMAND: invalid choice: 'chek'"),
    (["check"], "harness check: error: the following arguments are required: PATH "
                "(see harness check --help)"),
    (["check", "h.jsonl", "--bogus"], "harness: error: unrecognized arguments: --bogus"),
    (["check", "h.jsonl", "--json=yes"], "harness check: error: argument --json: ignored explicit "
                                         "argument 'yes'"),
    (["run"], "harness run: error: the following arguments are required: case"),
    (["run", "tc-af-001", "--nodes", "three"], "harness run: error: argument --nodes: invalid int "
                                               "value: 'three'"),
    (["cluster", "up", "--nodes", "x"], "argument --nodes: invalid int value: 'x'"),
    (["--version"], "harness: error: the following arguments are required: COMMAND"),
    (["list", "--version"], "harness: error: unrecognized arguments: --version"),
])
def test_argparse_errors_are_one_line_and_254(capsys, argv, message):
    code, out, err = run_main(capsys, *argv)
    assert code == 254
    assert out == ""
    assert len(err.splitlines()) == 1 and message in err, err


def test_help_still_prints_and_exits_0(capsys):
    code, out, err = run_main(capsys, "--help")
    assert code == 0 and err == ""
    for name, (_, help_line) in COMMANDS.items():
        assert name in out and help_line in out
    code, out, _ = run_main(capsys, "check", "--help")
    assert code == 0 and "--max-memory" in out and "--time-limit" in out


def test_the_command_table_matches_each_command_module():
    """The lazy table's help lines are the ones each module registers, and every
    harness/_cmd_*.py module is in the table."""
    modules = {p.stem for p in (REPO / "harness").glob("_cmd_*.py")}
    assert modules == {m for m, _ in COMMANDS.values()}
    full = cli.build_parser("*")
    actions = full._subparsers._group_actions[0]
    registered = {a.dest: a.help for a in actions._choices_actions}
    assert registered == {name: help_line for name, (_, help_line) in COMMANDS.items()}


def test_a_harness_bug_is_one_line_and_a_crash_log_of_its_own(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    from harness import _cmd_check

    def boom(args):
        raise ZeroDivisionError("planted\nbug")
    monkeypatch.setattr(_cmd_check, "run", boom)
    logs = []
    for _ in range(2):
        code, out, err = run_main(capsys, "check", "x.jsonl")
        assert code == 255
        [line] = err.splitlines()
        assert line.startswith("harness: internal error: ZeroDivisionError: planted | bug "
                               "(traceback in ")
        logs.append(Path(line.split("traceback in ")[1].rstrip(")")))
    assert logs[0] != logs[1], "every crash keeps its own log"
    for log in logs:
        assert log.parent == tmp_path / "state" / "heliosdb-harness"
        assert log.name.startswith("crash-") and log.name.endswith(".log")
        assert f"-{os.getpid()}-" in log.name
        assert "ZeroDivisionError: planted" in log.read_text()


def test_the_crash_handler_survives_nowhere_to_write(capsys, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker / "state"))   # under a file: unusable
    monkeypatch.setattr("tempfile.tempdir", str(blocker / "tmp"))
    from harness import _cmd_check

    def boom(args):
        raise RuntimeError("planted")
    monkeypatch.setattr(_cmd_check, "run", boom)
    code, out, err = run_main(capsys, "check", "x.jsonl")
    assert code == 255
    assert err.splitlines() == ["harness: internal error: RuntimeError: planted "
                                "(could not write a crash log)"]


def test_the_crash_log_falls_back_to_a_unique_temp_file(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    first, second = cli.write_crash_log("a"), cli.write_crash_log("b")
    assert first != second
    assert Path(first).parent == tmp_path and Path(first).name.startswith("heliosdb-harness-crash-")
    assert (Path(first).read_text(), Path(second).read_text()) == ("a", "b")


@pytest.mark.parametrize("events,code", [(VALID, 0), (INVALID, 1)])
def test_a_closed_stdout_keeps_the_verdicts_exit_code(tmp_path, events, code):
    """`harness check FILE | head -1`: the reader is gone before anything is written (its
    end of the pipe closed at once), so every write fails; exit code and stderr as usual."""
    path = write(tmp_path, *events)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "harness", "check", str(path), "--json"],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert (proc.wait(timeout=60), err) == (code, "")


def test_a_closed_pipe_in_process_is_quiet(tmp_path, monkeypatch):
    """print raising BrokenPipeError (a reader gone) is not a crash: the verdict's code."""
    import io

    class Closed(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            raise io.UnsupportedOperation("no fd")
    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["check", str(write(tmp_path, *INVALID))]) == 1


@pytest.mark.parametrize("store,message", [
    ("{file}", "--store {file}: is a file, not a directory"),
    ("{file}/sub", "--store {file}/sub: {file} is a file, not a directory"),
    ("/proc/1/store", "--store /proc/1/store: not a writable directory"),
])
def test_a_bad_store_is_254_naming_it(capsys, tmp_path, store, message):
    file = tmp_path / "a-file"
    file.write_text("x")
    store, message = store.format(file=file), message.format(file=file)
    code, out, err = run_main(capsys, "run", "tc-af-001", "--store", store)
    assert code == 254
    assert err.splitlines() == [f"harness: error: {message}"] or (
        len(err.splitlines()) == 1 and message in err), err
    assert not (Path(store) / "latest").exists()


def test_check_imports_only_the_checker(tmp_path):
    """Start-up: no case loader, nemesis, SSH, Docker, YAML or graph library for a file."""
    path = write(tmp_path, *VALID)
    code = ("import sys; from harness.cli import main; rc = main(['check', sys.argv[1]]); "
            "print(sorted(m for m in sys.modules), file=sys.stderr); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(eval(done.stderr.strip().splitlines()[-1]))
    banned = {"harness.cases", "harness.runner", "harness.analysis", "nemesis", "asyncssh",
              "networkx", "docker", "yaml", "workloads", "checker.sla", "checker.rpo",
              "checker.splitbrain", "checker.perf", "checker.availability"}
    assert not loaded & banned, sorted(loaded & banned)
    assert {"checker._history", "harness._cmd_check"} <= loaded
    assert not [m for m in loaded if m.startswith("harness._cmd_") and m != "harness._cmd_check"]


def test_every_command_module_imports_on_its_own():
    for module, _ in COMMANDS.values():
        importlib.import_module(f"harness.{module}")
