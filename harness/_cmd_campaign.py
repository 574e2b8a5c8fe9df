"""`harness campaign FILE.yaml` and `harness campaign merge DIR...` (layer: harness).

Runs a campaign's matrix (cases x node counts x seeds x --count), one
`harness run --json` process per cell, --parallel K at a time, printing a
line per finished run and a table at the end; writes campaign.json,
summary.md, junit.xml and index.html to store/campaigns/<name>/<stamp>/ (or
--out). --shard I/N runs the I-th of N disjoint slices; `merge` joins shard
directories into one summary (the same as the unsharded campaign's).
--gate release|beta runs only the cases that gate (P0+P1 | P0). --baseline DIR
compares each case's SLA metrics and ops/s with a baseline campaign and flags
a regression beyond 5% only where it is significant over the runs
(harness.campaign_baseline); --accept-regression overrides one explicitly.
Exit code, as Jepsen's test-all: 255 if any run could not be carried out
(or, for merge, a cell has no result), else 1 if any failed (or an unaccepted
regression), else 2 if any was unknown, else 0; 254 bad campaign file or
arguments.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from harness.errors import BadInput

USAGE = "harness campaign FILE.yaml [options] | harness campaign merge DIR... [options]"


def add_parser(sub) -> None:
    p = sub.add_parser("campaign", help="run a matrix of cases x nodes x seeds; merge shards",
                       description=__doc__.split("\n\n")[1], usage=USAGE)
    p.add_argument("target", nargs="+", metavar="FILE | merge DIR...",
                   help="campaign YAML, or `merge` and shard directories")
    p.add_argument("--count", type=int, default=1, help="repeat every cell N times")
    p.add_argument("--shard", metavar="I/N", help="run only slice I of N of the matrix")
    p.add_argument("--parallel", type=int, default=1, metavar="K", help="runs at once (1)")
    p.add_argument("--gate", choices=("release", "beta"),
                   help="run only the cases of this gate (release: P0+P1, beta: P0)")
    p.add_argument("--backend", help="override the campaign's backend")
    p.add_argument("--inventory", help="inventory YAML of lab hosts for --backend ssh")
    p.add_argument("--store", default="store", help="result store (default ./store)")
    p.add_argument("--out", help="output directory (default store/campaigns/<name>/<stamp>)")
    p.add_argument("--markdown", metavar="FILE", help="also write the Markdown summary here")
    p.add_argument("--junit", metavar="FILE", help="also write the JUnit XML here")
    p.add_argument("--baseline", metavar="DIR",
                   help="compare SLA metrics and ops/s with this campaign (its directory)")
    p.add_argument("--accept-regression", action="append", default=[], metavar="CASE[:METRIC]",
                   help="an expected regression: shown, not counted (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="print the matrix cells and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.target[0] == "merge":
        return _merge(args, args.target[1:])
    if len(args.target) != 1:
        raise BadInput(f"campaign: expected one campaign file, got {len(args.target)} "
                       f"(usage: {USAGE})")
    return _campaign(args, args.target[0])


def _matrix(args, path):
    from harness.campaign import load_campaign, parse_shard, shard
    from harness.campaign_stats import GATES as GATES_SCOPE
    if args.parallel < 1:
        raise BadInput(f"--parallel {args.parallel}: expected at least 1")
    i, n = parse_shard(args.shard)
    campaign = load_campaign(path, args.count)
    if args.backend:
        if args.backend not in ("auto", "docker", "netns", "ssh"):
            raise BadInput(f"--backend {args.backend!r}: expected auto, docker, netns or ssh")
        campaign.backend = args.backend
    if args.inventory:
        campaign.inventory = str(Path(args.inventory).resolve())
    if campaign.backend == "ssh" and not campaign.inventory:
        raise BadInput("campaign: backend ssh needs an inventory (inventory: FILE in the "
                       "campaign, or --inventory FILE)")
    cells = campaign.cells
    if args.gate:
        cells = [c for c in cells if c.priority in GATES_SCOPE[args.gate]]
        if not cells:
            raise BadInput(f"--gate {args.gate}: the campaign has no case of priority "
                           f"{'/'.join(GATES_SCOPE[args.gate])}")
    return campaign, cells, shard(cells, i, n), (i, n)


def _campaign(args, path) -> int:
    from harness.campaign_report import progress_line, summary_lines, write_outputs
    from harness.campaign_run import run_cells
    from harness.campaign_stats import summarize
    campaign, matrix, cells, (i, n) = _matrix(args, path)
    if args.dry_run:
        for c in cells:
            print(f"{c.index}\t{c.name}\t{c.priority}")
        return 0
    stamp = time.strftime("%Y%m%dT%H%M%S")
    out = Path(args.out) if args.out else Path(args.store) / "campaigns" / campaign.name / (
        stamp + (f"-shard-{i}-of-{n}" if n > 1 else ""))
    print(f"campaign {campaign.name}: {len(cells)} of {len(matrix)} runs"
          f"{f' (shard {i}/{n})' if n > 1 else ''}, backend {campaign.backend}, "
          f"results in {out}", flush=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    signal.signal(signal.SIGTERM, _interrupt)   # a CI timeout stops runs as Ctrl-C does
    records = run_cells(cells, campaign, Path(args.store), args.parallel,
                        lambda r, done, total: print(progress_line(r, done, total), flush=True))
    data = {"name": campaign.name, "source": campaign.source, "backend": campaign.backend,
            "description": campaign.description, "started": started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": ["harness", *sys.argv[1:]],
            "shard": [i, n], "gate": args.gate, "matrix_indices": [c.index for c in matrix],
            "runs": records, **summarize(records)}
    _apply_baseline(data, args)
    write_outputs(data, out, args.markdown, args.junit)
    print("\n".join(summary_lines(data)))
    print(f"campaign results: {out}")
    return data["exit_code"]


def _apply_baseline(data: dict, args) -> None:
    """Regression rows against --baseline; a significant, unaccepted one makes a passing or
    unknown campaign exit 1."""
    from harness.campaign_baseline import compare, regressions
    if not args.baseline:
        return
    base = _load_shard(args.baseline)
    data["baseline"] = {"source": str(args.baseline), "name": base.get("name"),
                        "started": base.get("started")}
    data["regressions"] = compare(data["runs"], base["runs"], set(args.accept_regression))
    if regressions(data["regressions"]) and data["exit_code"] in (0, 2):
        data["exit_code"] = 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _load_shard(path: str) -> dict:
    p = Path(path)
    p = p / "campaign.json" if p.is_dir() else p
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"merge: {path}: cannot read campaign.json: {exc.strerror or exc}") \
            from None
    except ValueError as exc:
        raise BadInput(f"merge: {p}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list) or not isinstance(
            data.get("matrix_indices"), list):
        raise BadInput(f"merge: {p}: not a campaign.json (no runs / matrix_indices)")
    return data


def merged(shards: list[dict]) -> dict:
    """One campaign from shard results: runs joined by matrix index, cells without a result
    listed as missing (exit 255). BadInput if the shards are of different campaigns or
    overlap."""
    from harness.campaign_stats import summarize
    first = shards[0]
    runs: dict = {}
    for s in shards:
        if (s.get("name"), s.get("matrix_indices")) != (first.get("name"),
                                                          first.get("matrix_indices")):
            raise BadInput(f"merge: shards of different campaigns or matrices ({first.get('name')}"
                           f" vs {s.get('name')})")
        for r in s["runs"]:
            if r["index"] in runs:
                raise BadInput(f"merge: run {r['name']} (cell {r['index']}) is in two shards")
            runs[r["index"]] = r
    records = [runs[i] for i in sorted(runs)]
    missing = [i for i in first["matrix_indices"] if i not in runs]
    data = {k: first.get(k) for k in ("name", "source", "backend", "description", "gate",
                                      "matrix_indices")}
    data.update(started=min(s.get("started") or "" for s in shards),
                finished=max(s.get("finished") or "" for s in shards),
                shards=[s.get("shard") for s in shards], runs=records, **summarize(records),
                missing=missing)
    if missing:
        data["exit_code"] = 255
    return data


def _merge(args, dirs: list[str]) -> int:
    from harness.campaign_report import summary_lines, write_outputs
    if not dirs:
        raise BadInput(f"campaign merge: name at least one shard directory (usage: {USAGE})")
    data = merged([_load_shard(d) for d in dirs])
    _apply_baseline(data, args)
    out = Path(args.out) if args.out else Path(args.store) / "campaigns" / data["name"] / (
        time.strftime("%Y%m%dT%H%M%S") + "-merged")
    write_outputs(data, out, args.markdown, args.junit)
    print("\n".join(summary_lines(data)))
    print(f"campaign results: {out}")
    return data["exit_code"]
