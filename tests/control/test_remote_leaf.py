"""The leaf Remote protocol (remote/): one set of types for nemesis, DB adapters and
harness.control; its errors are HarnessErrors the CLI prints in one line, exit 255."""

import asyncio

import harness.control as control
import remote
from harness.cli import main
from harness.db.heliosdb import HeliosDB
from harness.errors import EXIT_HARNESS, HarnessError


def test_harness_control_re_exports_the_leaf_types():
    for name in ("Host", "Remote", "CommandResult", "RemoteCommandError", "HostUnreachable",
                 "ProcessControl", "ClockControl"):
        assert getattr(control, name) is getattr(remote, name), name


def test_remote_errors_carry_their_context_and_exit_255():
    err = remote.RemoteCommandError("n2", ["kill", "-9", "7"], 1, "out", "a\nb\nc\nd\n")
    assert (err.host, err.argv, err.exit_status, err.stdout) == ("n2", ("kill", "-9", "7"), 1,
                                                                "out")
    assert str(err) == "n2: kill -9 7: exit status 1: b | c | d"
    assert err.exit_code == EXIT_HARNESS and isinstance(err, HarnessError)
    assert remote.HostUnreachable("n1: refused").exit_code == EXIT_HARNESS
    assert issubclass(remote.HostUnreachable, HarnessError)


def test_implementations_satisfy_the_protocols():
    hosts = [remote.Host("n1", "10.0.0.1", "10.0.0.1")]
    db = HeliosDB(hosts)
    assert isinstance(db, remote.ProcessControl) and isinstance(db, remote.ClockControl)
    assert isinstance(control.LocalRemote(), remote.Remote)
    assert not isinstance(object(), remote.ProcessControl)


def test_cli_prints_a_remote_error_in_one_line(monkeypatch, capsys):
    """A RemoteCommandError escaping a command is one line and exit 255, no traceback."""
    import harness._cmd_list as cmd

    def fail(args):
        asyncio.run(control.LocalRemote().exec(["sh", "-c", "echo nope >&2; exit 3"]))
    monkeypatch.setattr(cmd, "run", fail)
    monkeypatch.setattr(cmd, "add_parser", _parser_with(fail, cmd.add_parser))
    assert main(["list"]) == EXIT_HARNESS
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["harness: error: local: sh -c echo nope >&2; exit 3: exit status 3: nope"]


def _parser_with(func, add_parser):
    def add(sub):
        add_parser(sub)
        sub.choices["list"].set_defaults(func=func)
    return add
