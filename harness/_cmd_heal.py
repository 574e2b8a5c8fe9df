"""`harness heal [RUN_DIR]`: undo every fault a killed harness left behind (layer: harness).

Reads `<RUN_DIR>/nemesis-ledger.jsonl`, reconnects to the run's hosts from
their cluster record, replays the undo steps of every entry not yet healed
(tolerating "already gone"), and verifies: N x N reachability plus no
harness-owned iptables rule or qdisc left. Process and clock undo steps go
through the database adapter the record names (or --db NAME when the record has none).

RUN_DIR defaults to <store>/latest, else the current cluster's directory; a
store root given as RUN_DIR (it holds `latest` or `clusters/`) means that
store's latest run.
The cluster record is RUN_DIR/cluster.json, else --cluster, else
<store>/clusters/current/cluster.json. Exit 0 when the verification is
clean, 255 when it is not (the leftovers are printed).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from harness import cluster_state as cs
from harness.errors import BadInput, EXIT_HARNESS

LEDGER = "nemesis-ledger.jsonl"


def add_parser(sub) -> None:
    p = sub.add_parser("heal", help="replay the nemesis ledger of a run: heal every fault left behind")
    p.add_argument("run_dir", nargs="?", help="run directory, or a store (its latest run) "
                   "(default: <store>/latest, else the current cluster's directory)")
    p.add_argument("--cluster", help="cluster.json to reach the hosts (default: RUN_DIR/cluster.json, "
                   "else <store>/clusters/current/cluster.json)")
    p.add_argument("--store", default="./store", help="result store (default ./store)")
    p.add_argument("--json", action="store_true", help="print the verification as JSON")
    p.add_argument("--db", help="database adapter for process/clock undo steps when the "
                   "cluster record names none (default: the record's)")
    p.set_defaults(func=run)


def _is_store_root(path: Path) -> bool:
    """A result store (it has `latest` or `clusters/`) rather than a run directory."""
    return not (path / LEDGER).is_file() and (
        (path / "latest").is_dir() or cs.clusters_dir(path).is_dir())


def _run_dir(args) -> Path:
    if args.run_dir:
        path = Path(args.run_dir)
        if not path.is_dir():
            raise BadInput(f"heal: run directory {path} does not exist")
        if not _is_store_root(path):
            return path
        args.store = str(path)      # `harness heal STORE_DIR`: that store's latest run
    for candidate in (Path(args.store) / "latest", cs.clusters_dir(args.store) / "current"):
        if candidate.is_dir():
            return candidate.resolve()
    raise BadInput(f"heal: no run directory given and neither {args.store}/latest nor "
                   f"{args.store}/clusters/current exists")


def _record(args, run_dir: Path) -> cs.Cluster:
    if args.cluster:
        return cs.load_record(args.cluster)
    if (run_dir / "cluster.json").is_file():
        return cs.load_record(run_dir / "cluster.json")
    return cs.current_record(args.store)


def _db_for(cluster: cs.Cluster, name: str | None = None):
    from harness.db import db_class, db_from_record
    record = cluster.db or ({"name": name} if name else None)
    if name and record.get("name") != name:
        raise BadInput(f"heal: --db {name!r} but the cluster record names "
                       f"{record.get('name')!r}")
    if name:
        db_class(name)   # an unknown name: one line, exit 254
    return db_from_record(cluster.hosts, record)


async def _heal(cluster: cs.Cluster, run_dir: Path, db_name: str | None = None) -> dict:
    from harness.control import close_all, connect_all
    from nemesis import heal_from_ledger
    events: list[dict] = []
    start = time.monotonic_ns()
    remotes = await connect_all(cluster.hosts)
    try:
        return await heal_from_ledger({r.host.name: r for r in remotes}, run_dir,
                                      record=events.append,
                                      clock=lambda: time.monotonic_ns() - start,
                                      db=_db_for(cluster, db_name))
    finally:
        await close_all(remotes)


def run(args) -> int:
    run_dir = _run_dir(args)
    if not (run_dir / LEDGER).is_file():
        raise BadInput(f"heal: {run_dir} has no {LEDGER}: nothing to replay")
    cluster = _record(args, run_dir)
    result = asyncio.run(_heal(cluster, run_dir, getattr(args, "db", None)))
    if args.json:
        print(json.dumps(result, indent=2))
    problems = result["leftover_rules"] + result["unexpected_reachability"] + result["errors"]
    for line in problems:
        print(f"heal: {line}")
    print(f"heal: {'ok' if result['ok'] else 'NOT healed'}: {len(cluster.hosts)} hosts, "
          f"{len(problems)} problem(s) ({run_dir})")
    return 0 if result["ok"] else EXIT_HARNESS
