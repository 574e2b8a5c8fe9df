"""`harness check PATH`: check a recorded history, or a whole stored run (layer: harness).

PATH a run directory (it holds history.jsonl and case.yaml, as `harness run`
writes them): every checker of the run's case is re-run without any cluster,
results.json and report.txt are rewritten, and the seed-style summary is
printed. PATH a history file: reads the JSON Lines history, runs checker.check_linearizable and prints a
human summary (or, with --json, the result object). Exit codes as DESIGN.md:
0 valid, 1 invalid, 2 unknown, 254 bad arguments or input.

--initial-value is the start value of every register/key: null (the default)
means the model's default, null for cas-register and multi-register, "" for
kv. --null-read says what an ok read of null means: "absent" (the register
holds null; for kv, the key reads as "") or "unknown" (Knossos: matches any
value). The Knossos corpus needs `--initial-value 0 --null-read unknown`.
"""

from __future__ import annotations

import json
import math
import sys

from checker import MODELS, NULL_READS, BadHistory, check_linearizable, read_history, render_text
from harness.errors import BadInput, exit_code_for_verdict


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
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="give up after S seconds with verdict unknown")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run)


def _options(args):
    """Validated (model, initial value, null_read, time limit); BadInput names the option."""
    if args.model not in MODELS:
        raise BadInput(f"--model {args.model!r} is not a model: expected one of {', '.join(MODELS)}")
    if args.null_read not in NULL_READS:
        raise BadInput(f"--null-read {args.null_read!r}: expected one of {', '.join(NULL_READS)}")
    try:
        initial = json.loads(args.initial_value)
    except json.JSONDecodeError as exc:
        raise BadInput(f"--initial-value {args.initial_value!r} is not JSON ({exc.msg}); "
                       f"e.g. 0, null or '\"text\"'") from None
    limit = args.time_limit
    if limit is not None and (not math.isfinite(limit) or limit <= 0):
        raise BadInput(f"--time-limit {limit} must be a positive number of seconds")
    return args.model, initial, args.null_read, limit


def _check_run_dir(args) -> int:
    from pathlib import Path

    from harness import analysis, report
    run_dir = Path(args.path)
    results = analysis.analyze(run_dir)
    tmp = run_dir / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
    tmp.replace(run_dir / "results.json")
    lines = report.summary_lines(results)
    (run_dir / "report.txt").write_text("\n".join(lines) + "\n")
    print(json.dumps(results, default=str) if args.json else "\n".join(lines))
    return results["exit_code"]


def run(args) -> int:
    from pathlib import Path
    if Path(args.path).is_dir():
        if not (Path(args.path) / "history.jsonl").exists():
            raise BadInput(f"{args.path}: a directory without history.jsonl is not a run directory")
        return _check_run_dir(args)
    model, initial, null_read, limit = _options(args)
    try:
        history = read_history(args.path)
        result = check_linearizable(history, model, initial_value=initial, null_read=null_read,
                                    time_limit=limit)
    except (BadHistory, ValueError) as exc:
        raise BadInput(str(exc)) from None
    for warning in result["warnings"]:
        print(f"harness: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, default=repr))
    else:
        print(render_text(result))
    return exit_code_for_verdict(result["valid"])
