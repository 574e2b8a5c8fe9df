"""The `harness` command line (layer: harness).

Each subcommand lives in its own module `harness/_cmd_<name>.py` exposing
`add_parser(subparsers)` and `run(args) -> int`. This module only wires them
together and turns errors into one-line messages with DESIGN.md exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import traceback
from pathlib import Path

from harness.errors import EXIT_BAD_INPUT, EXIT_HARNESS, HarnessError

# Module names under harness/ that provide subcommands, in --help order.
COMMANDS = [
    "_cmd_run",
    "_cmd_list",
    "_cmd_check",
    "_cmd_cluster",
    "_cmd_doctor",
    "_cmd_heal",
    "_cmd_image",
]


class _Parser(argparse.ArgumentParser):
    """argparse that exits 254 (bad arguments) instead of 2, which means 'unknown'."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="harness",
        description="Jepsen-style reliability harness for HeliosDB-like replicated databases.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"harness.{name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_HARNESS
    except Exception as exc:  # a harness bug: one line here, the traceback in a file
        log = Path(tempfile.gettempdir()) / "harness-crash.log"
        log.write_text(traceback.format_exc())
        print(f"harness: internal error: {type(exc).__name__}: {exc} (traceback in {log})",
              file=sys.stderr)
        return EXIT_HARNESS
