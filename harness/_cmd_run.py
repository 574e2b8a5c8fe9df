"""`harness run CASE`: run one catalogue case (or case YAML) end to end (layer: harness)."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from pathlib import Path

from harness import report
from harness.cases import LIMITS, MAX_SECONDS, check_node_count, load_case
from harness.db import DATABASES, db_class, parse_db_opts
from harness.errors import BadInput


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a test case end to end and check it",
                       description="Provision a cluster, run the case's workloads and nemesis, "
                       "heal, check the history. Exit 0 all valid and every SLA met, 1 a "
                       "violation or a failed SLA, 2 unknown, 254 bad input, 255 run failed.")
    p.add_argument("case", help="catalogue id (tc-af-004; see `harness list`) or a case YAML path")
    p.add_argument("--nodes", type=int, help="cluster size: odd, 1-9 (default: the case's)")
    p.add_argument("--backend", default="auto", help="auto|docker|netns|ssh (default auto)")
    p.add_argument("--inventory", help="inventory YAML for --backend ssh")
    p.add_argument("--time-limit", type=float, help="workload seconds (default: the case's; "
                   "extended when the nemesis schedule needs longer)")
    p.add_argument("--concurrency", type=int, help="client processes over all workloads")
    p.add_argument("--rate", type=float, help="ops/s over all workloads (0: unlimited)")
    p.add_argument("--seed", type=int, help="seed for workload and nemesis (default: random, "
                   "recorded in run.json; pass it to replay)")
    p.add_argument("--db", default="heliosdb",
                   help=f"database adapter: {', '.join(DATABASES)} (default heliosdb)")
    p.add_argument("--db-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="database option, repeatable; heliosdb: election_timeout_ms=N, "
                   "heartbeat_ms=N, bug=NAME (planted bug); a wrong key lists the adapter's")
    p.add_argument("--leave-running", action="store_true", help="do not tear the cluster down")
    p.add_argument("--store", default="store", help="result store directory (default ./store)")
    p.add_argument("--json", action="store_true", help="print results.json to stdout")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def _options(args):
    from harness.runner import RunOptions, new_seed
    case = load_case(args.case)
    nodes = case.nodes if args.nodes is None else args.nodes
    if not 1 <= nodes <= 9 or nodes % 2 == 0:
        raise BadInput(f"--nodes: must be an odd number from 1 to 9, got {nodes}")
    check_node_count(case, nodes)
    db_class(args.db)   # an unknown database: one line naming the choices, before anything
    parse_db_opts(args.db, list(args.db_opt), case.db, source=f"case {case.source}: db")
    for flag, value, lo, hi in (("--time-limit", args.time_limit, 1, MAX_SECONDS),
                                ("--concurrency", args.concurrency, 1, LIMITS["concurrency"]),
                                ("--rate", args.rate, 0, LIMITS["rate"])):
        if value is not None and not (math.isfinite(value) and lo <= value <= hi):
            raise BadInput(f"{flag}: must be a number from {lo:g} to {hi:g}, got {value}")
    if args.seed is not None and not 0 <= args.seed < 2 ** 63:
        raise BadInput(f"--seed: must be an integer from 0 to 2**63-1, got {args.seed}")
    if args.backend not in ("auto", "docker", "netns", "ssh"):
        raise BadInput(f"--backend {args.backend!r}: expected auto, docker, netns or ssh")
    if args.backend == "ssh" and not args.inventory:
        raise BadInput("--backend ssh needs --inventory FILE")
    if args.inventory:   # a bad inventory is refused before anything is created
        from harness.provision._inventory import load_inventory
        load_inventory(args.inventory)
    _check_store(args.store)
    return RunOptions(case=case, nodes=nodes, backend=args.backend, inventory=args.inventory,
                      time_limit=args.time_limit, concurrency=args.concurrency, rate=args.rate,
                      seed=args.seed if args.seed is not None else new_seed(),
                      db=args.db, db_opts=list(args.db_opt),
                      leave_running=args.leave_running, store=Path(args.store),
                      argv=["harness", *sys.argv[1:]], quiet=args.quiet)


def _check_store(store: str) -> None:
    """--store must be a directory the run can write in, or creatable: BadInput names it."""
    try:
        path, parent = Path(store), Path(store).absolute()
        while not parent.exists() and parent.parent != parent:
            parent = parent.parent
        if path.exists() and not path.is_dir():
            raise BadInput(f"--store {store}: is a file, not a directory")
        if not parent.is_dir():
            raise BadInput(f"--store {store}: {parent} is a file, not a directory")
        import tempfile
        tempfile.TemporaryFile(dir=parent).close()   # writable here (root included), not only by mode bits
    except (OSError, ValueError) as exc:
        raise BadInput(f"--store {store}: not a writable directory "
                       f"({getattr(exc, 'strerror', None) or exc})") from None


def run(args) -> int:
    from harness.runner import execute
    opts = _options(args)
    results = asyncio.run(execute(opts))
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        print("\n".join(report.summary_lines(results)))
        if results.get("interrupted"):
            print(f"history kept: harness check {results['run_dir']}")
    return results["exit_code"]
