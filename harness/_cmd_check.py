"""`harness check PATH`: check a recorded history, or a whole stored run (layer: harness).

PATH a run directory (it holds history.jsonl and case.yaml, as `harness run`
writes them): every checker of the run's case is re-run without any cluster,
results.json and report.txt are rewritten, and the seed-style summary is
printed. PATH a history file: reads the JSON Lines history, runs checker.check_linearizable and prints a
human summary (or, with --json, the result object). Exit codes as DESIGN.md:
0 valid, 1 invalid, 2 unknown, 254 bad arguments or input (a defective
history is 254 in a run directory too).

--initial-value is the start value of every register/key: null (the default)
means the model's default, null for cas-register and multi-register, "" for
kv. --null-read says what an ok read of null means: "absent" (the register
holds null; for kv, the key reads as "") or "unknown" (Knossos: matches any
value). The Knossos corpus needs `--initial-value 0 --null-read unknown`.

Bounded by default: --time-limit (60 s) and --max-memory (4 GiB: the process's
address space may grow by that much; a quarter of it is the search's memo
budget). A history that needs more ends with verdict unknown, exit 2.

Start-up matters: this module imports only the checker at load time (the
run-directory path imports the rest of the harness when it is taken).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys

from checker import MODELS, NULL_READS, BadHistory, check_linearizable, read_history, render_text
from harness.errors import BadInput, exit_code_for_verdict

DEFAULT_TIME_LIMIT_S = 60.0
DEFAULT_MAX_MEMORY = "4G"
MIN_MEMORY = 64 << 20
MAX_JSON_DEPTH = 64


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check", help="check a history file, or re-check a stored run directory",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("path", metavar="PATH", help="history file (JSON Lines) or run directory")
    p.add_argument("--model", default="cas-register",
                   help=f"one of {', '.join(MODELS)} (default cas-register)")
    p.add_argument("--initial-value", default="null", metavar="JSON",
                   help="start value of every register/key, as JSON (default null: model default)")
    p.add_argument("--null-read", default="absent",
                   help="an ok read of null means: absent (default) or unknown")
    p.add_argument("--time-limit", default=str(DEFAULT_TIME_LIMIT_S), metavar="S",
                   help=f"give up after S seconds with verdict unknown (default "
                        f"{DEFAULT_TIME_LIMIT_S:g}; history files only)")
    p.add_argument("--max-memory", default=DEFAULT_MAX_MEMORY, metavar="SIZE",
                   help=f"give up with verdict unknown beyond this much memory, e.g. 512M, 8G "
                        f"(default {DEFAULT_MAX_MEMORY}; history files only)")
    p.add_argument("--minimal-counterexample", action="store_true",
                   help="shrink an invalid history's counterexample to the smallest window, "
                        "however long it takes within --time-limit (default: a budget "
                        "proportional to the verdict's search; the result says if minimal)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run)


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range (not a finite number)")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _initial_value(text: str):
    """--initial-value as a JSON value: strict (no NaN, no huge integers, shallow)."""
    flag = "--initial-value"
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        raise BadInput(f"{flag}: nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{flag} {text[:60]!r} is not JSON ({exc.msg}); "
                       f"e.g. 0, null or '\"text\"'") from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            raise BadInput(f"{flag}: an integer with more digits than Python converts "
                           f"(4300); not a register value") from None
        raise BadInput(f"{flag}: {exc}") from None


def _seconds(text: str) -> float:
    try:
        limit = float(text)
    except ValueError:
        limit = math.nan
    if not math.isfinite(limit) or limit <= 0:
        raise BadInput(f"--time-limit {text[:40]!r}: expected a positive number of seconds")
    return limit


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _bytes(text: str) -> int:
    """--max-memory: a size like 512M, 4G, 1.5GiB or a number of bytes."""
    match = _SIZE.fullmatch(text)
    if match:
        size = float(match[1]) * _UNITS[match[2].lower()]
        if MIN_MEMORY <= size < 1 << 50:
            return int(size)
    raise BadInput(f"--max-memory {text[:40]!r}: expected a size from 64M up, e.g. 512M or 8G")


def _options(args):
    """Validated (model, initial value, null_read, time limit, memory); BadInput names the option."""
    if args.model not in MODELS:
        raise BadInput(f"--model {args.model!r} is not a model: expected one of {', '.join(MODELS)}")
    if args.null_read not in NULL_READS:
        raise BadInput(f"--null-read {args.null_read!r}: expected one of {', '.join(NULL_READS)}")
    return (args.model, _initial_value(args.initial_value), args.null_read,
            _seconds(args.time_limit), _bytes(args.max_memory))


def _validate_run_history(path) -> list:
    """The run's history.jsonl read as `check FILE` reads one: BadInput (254) on a defect the
    file check rejects (lines, pairing, and the register workload's cas-register shapes, as
    analysis checks it); returns the reader's warnings."""
    from checker import get_model
    from checker._history import parse_events, read_events
    model = get_model("cas-register")
    try:
        events, warnings = read_events(path)
        if not any(isinstance(e, dict) and e.get("process") != "nemesis" for _, e in events):
            return warnings
        for op in parse_events(events, source=str(path)).ops:
            if op.extra.get("workload") != "register":
                continue
            if op.f not in model.fs:
                raise BadHistory(f"{path}:{op.line}: f {op.f!r} is not an operation of the "
                                 f"register workload (expected one of {', '.join(model.fs)})")
            model.validate(op)
    except BadHistory as exc:
        raise BadInput(f"{path}: {exc}" if not str(exc).startswith(str(path)) else str(exc)) from None
    return warnings


def _check_run_dir(args) -> int:
    from pathlib import Path

    from harness import analysis, report
    run_dir = Path(args.path)
    warnings = _validate_run_history(run_dir / "history.jsonl")
    results = analysis.analyze(run_dir)
    for warning in warnings:   # after analysis: a 254 there stays the only line
        print(f"harness: warning: {warning}", file=sys.stderr)
    tmp = run_dir / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
    tmp.replace(run_dir / "results.json")
    lines = report.summary_lines(results)
    (run_dir / "report.txt").write_text("\n".join(lines) + "\n")
    from harness.cli import emit
    emit(json.dumps(results, default=str) if args.json else "\n".join(lines))
    return results["exit_code"]


def run(args) -> int:
    model, initial, null_read, limit, memory = _options(args)
    if os.path.isdir(args.path):
        if not os.path.exists(os.path.join(args.path, "history.jsonl")):
            raise BadInput(f"{args.path}: a directory without history.jsonl is not a run directory")
        return _check_run_dir(args)
    try:
        history = read_history(args.path)
        with _address_space(memory):
            try:
                result = check_linearizable(history, model, initial_value=initial,
                                            null_read=null_read, time_limit=limit,
                                            max_memo_bytes=memory // 4,
                                            minimal_counterexample=args.minimal_counterexample)
            except MemoryError:
                result = None
    except (BadHistory, ValueError) as exc:
        raise BadInput(str(exc)) from None
    if result is None:
        result = _out_of_memory(history, model, initial, null_read, args.max_memory)
    for warning in result["warnings"]:
        print(f"harness: warning: {warning}", file=sys.stderr)
    from harness.cli import emit
    emit(json.dumps(result, default=repr, allow_nan=False) if args.json else render_text(result))
    return exit_code_for_verdict(result["valid"])


def _out_of_memory(history, model, initial, null_read, limit_text) -> dict:
    """The result of a check stopped by the address-space bound: unknown, nothing decided."""
    keys = list(dict.fromkeys(json.dumps(op.key, sort_keys=True) for op in history.ops))
    keys = [json.loads(k) for k in keys]
    return {"valid": "unknown", "model": model, "ops": len(history.ops), "keys": len(keys),
            "keys_decided": 0, "coverage": 0.0, "initial_value": initial, "null_read": null_read,
            "invalid_keys": [], "unknown_keys": keys, "memo_entries": 0,
            "warnings": list(history.warnings), "reason": [f"memory limit (--max-memory {limit_text})"],
            "search_s": 0.0, "elapsed_s": 0.0}


class _address_space:
    """Within the block the process may grow by `extra` bytes of address space (RLIMIT_AS,
    soft limit; inherited by the checker's worker processes); restored on exit. Beyond it
    allocations raise MemoryError. A backstop for the search's own memo estimate."""

    def __init__(self, extra: int):
        self.extra, self.saved = extra, None

    def __enter__(self):
        try:
            import resource
            with open("/proc/self/statm") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            want = used + self.extra
            if hard != resource.RLIM_INFINITY:
                want = min(want, hard)
            if soft == resource.RLIM_INFINITY or want < soft:
                resource.setrlimit(resource.RLIMIT_AS, (want, hard))
                self.saved = (soft, hard)
        except (ImportError, OSError, ValueError):
            pass   # no /proc or no rlimits: the memo budget still bounds the search
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, self.saved)
        return False
