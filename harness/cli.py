"""The `harness` command line (layer: harness).

Each subcommand lives in its own module `harness/_cmd_<name>.py` exposing
`add_parser(subparsers)` and `run(args) -> int`. This module only wires them
together and turns errors into one-line messages with DESIGN.md exit codes.

Start-up cost matters (`harness check FILE` should be a small process): only
the chosen command's module is imported; the other commands get a stub
parser carrying their help line from COMMANDS (tests/test_cli_messages.py
keeps the two in step).

Every way out prints at most one line on stderr: argparse errors (exit 254,
no usage block), HarnessError (its exit code), interrupts (130), and harness
bugs (255, the traceback in a crash log of its own, see `crash_log_dir`).
A closed stdout (`harness check X | head -1`) is not an error: output is
dropped and the exit code is the command's.
"""

from __future__ import annotations

import argparse
import os
import sys

from harness.errors import EXIT_BAD_INPUT, EXIT_HARNESS, HarnessError

# name -> (module under harness/, help line), in --help order.
COMMANDS = {
    "run": ("_cmd_run", "run a test case end to end and check it"),
    "list": ("_cmd_list", "list the test catalogue"),
    "check": ("_cmd_check", "check a history file, or re-check a stored run directory"),
    "cluster": ("_cmd_cluster", "bring a cluster up, show its status, tear it down"),
    "doctor": ("_cmd_doctor", "check what this machine can run and what is missing"),
    "heal": ("_cmd_heal", "replay the nemesis ledger of a run: heal every fault left behind"),
    "image": ("_cmd_image", "build or inspect the docker node image"),
    "report": ("_cmd_report", "write a stored run's report.html (plots, SLAs, forensics)"),
    "serve": ("_cmd_serve", "browse runs and campaigns of a store over HTTP"),
    "campaign": ("_cmd_campaign", "run a matrix of cases x nodes x seeds; merge shards"),
}


class UsageError(Exception):
    """Bad command-line arguments (argparse's complaint, one line): exit 254."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports one line and exits 254 (bad arguments), not 2 ('unknown')."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only `command`'s module is imported (all are, if command is "*")."""
    parser = _Parser(
        prog="harness",
        description="Jepsen-style reliability harness for HeliosDB-like replicated databases.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (module_name, help_line) in COMMANDS.items():
        if command in (name, "*"):
            import importlib
            importlib.import_module(f"harness.{module_name}").add_parser(sub)
        else:
            sub.add_parser(name, help=help_line)
    return parser


def _chosen(argv) -> str | None:
    """The subcommand named in argv: its first word that is not an option."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default sys.argv[1:]); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        code = _run(argv)
    except KeyboardInterrupt:
        _say("harness: interrupted")
        code = 130
    except BrokenPipeError:   # stdout closed while a command printed: nothing left to say
        _drop_stdout()
        code = EXIT_HARNESS
    except Exception as exc:  # a harness bug: one line here, the traceback in a file
        code = crash(exc)
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        _drop_stdout()
    return code


def _run(argv) -> int:
    try:
        args = build_parser(_chosen(argv)).parse_args(argv)
    except UsageError as exc:
        _say(str(exc))
        return EXIT_BAD_INPUT
    except SystemExit as exc:   # --help printed, or argparse gave up
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        return args.func(args)
    except HarnessError as exc:
        _say(f"harness: error: {exc}")
        return exc.exit_code


def one_line(text: str) -> str:
    """`text` on one line (a multi-line message's lines joined with ' | ')."""
    return " | ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _say(text: str) -> None:
    """One line on stderr; never raises (stderr may be closed too)."""
    try:
        print(one_line(text), file=sys.stderr, flush=True)
    except Exception:
        pass


def emit(text: str) -> None:
    """Print `text` on stdout; if the reader went away (a closed pipe), drop it quietly."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _drop_stdout()


def _drop_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's final flush cannot fail (Python docs,
    "Note on SIGPIPE"); sys.stdout's unflushed bytes go there too."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except Exception:
        pass


def crash_log_dir() -> str:
    """Per-user home of crash logs: $XDG_STATE_HOME/heliosdb-harness (default
    ~/.local/state/heliosdb-harness)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"),
                                                             ".local", "state")
    return os.path.join(state, "heliosdb-harness")


def write_crash_log(text: str) -> str | None:
    """Write `text` to a new file (never one an earlier crash wrote): crash-<time>-<pid>-*.log
    in crash_log_dir(), else in the temp directory; its path, or None if neither works."""
    import tempfile
    import time
    prefix = f"crash-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-"
    for directory in (crash_log_dir(), None):
        try:
            if directory is not None:
                os.makedirs(directory, mode=0o700, exist_ok=True)
            fd, path = tempfile.mkstemp(prefix=prefix if directory else "heliosdb-harness-" + prefix,
                                        suffix=".log", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
                f.write(text)
            return path
        except Exception:
            continue
    return None


def crash(exc: BaseException) -> int:
    """Report a harness bug in one line, its traceback in a crash log; exit 255. Never raises."""
    try:
        import traceback
        where = write_crash_log("".join(traceback.format_exception(exc)))
        where = f"traceback in {where}" if where else "could not write a crash log"
        _say(f"harness: internal error: {type(exc).__name__}: {_describe(exc)} ({where})")
    except BaseException:
        _say("harness: internal error (and the crash report failed too)")
    return EXIT_HARNESS


def _describe(exc) -> str:
    try:
        return one_line(str(exc))[:500]
    except Exception:
        return "(no message)"
