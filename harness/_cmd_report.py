"""`harness report RUN_DIR`: write a stored run's report.html (layer: harness).

Works on any run directory `harness run` left, also an interrupted one: the
verdicts come from results.json; without it the run's checkers are run first
(as `harness check RUN_DIR` would, without rewriting results.json), unless
--no-check or the run cannot be checked (say, no case.yaml): then the report
shows the plots only. Prints the path of
the report. Exit 0 written, 254 not a run directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.errors import BadInput


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write a stored run's report.html (plots, SLAs, forensics)",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (e.g. store/latest)")
    p.add_argument("--no-check", action="store_true",
                   help="without results.json, do not run the checkers (plots only)")
    p.set_defaults(func=run)


def _results(run_dir: Path, check: bool) -> dict | None:
    if (run_dir / "results.json").exists() or not check:
        return None   # write_html_report reads results.json itself
    from harness import analysis
    print(f"harness: {run_dir}: no results.json, checking the run first", file=sys.stderr)
    try:
        return analysis.analyze(run_dir)
    except BadInput as exc:   # e.g. a run killed before case.yaml was written
        print(f"harness: warning: cannot check the run ({exc}); the report has no verdicts",
              file=sys.stderr)
        return None


def run(args) -> int:
    from harness.reports import write_html_report
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise BadInput(f"RUN_DIR {args.run_dir}: not a directory")
    if not any((run_dir / m).is_file() for m in ("history.jsonl", "run.json", "results.json")):
        raise BadInput(f"RUN_DIR {args.run_dir}: not a run directory (no history.jsonl, "
                       f"run.json or results.json)")
    try:
        path = write_html_report(run_dir, _results(run_dir, not args.no_check))
    except OSError as exc:
        raise BadInput(f"RUN_DIR {args.run_dir}: cannot write report.html: {exc}") from None
    print(path)
    return 0
