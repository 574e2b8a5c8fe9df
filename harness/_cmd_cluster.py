"""`harness cluster up|status|down`: bring a cluster up by hand and look at it (layer: harness).

up writes <store>/clusters/<run_id>/cluster.json and points <store>/clusters/current at it;
status reads the current record; down removes the current run, or with --all every
run's leftovers of every backend (from names and labels, not memory).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from harness import cluster_state as cs
from harness.control import HostUnreachable, SshRemote, close_all, connect_all
from harness.db import db_from_record, make_db, parse_db_opts
from harness.errors import HarnessError
from harness.provision._inventory import load_inventory
from harness.provision._select import BACKENDS, availability, make_backend


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("cluster", help="bring a cluster up, show its status, tear it down")
    sub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    sub.required = True
    up = sub.add_parser("up", help="provision nodes and start the emulator cluster")
    up.add_argument("--nodes", type=int, default=3, help="odd number of nodes, 1 to 9 (default 3)")
    up.add_argument("--backend", default="auto", help=f"one of {', '.join(BACKENDS)}")
    up.add_argument("--inventory", help="inventory YAML (ssh backend)")
    up.add_argument("--no-db", action="store_true", help="only provision; do not start the DB")
    up.add_argument("--db", default="heliosdb", help="database adapter (default heliosdb)")
    up.add_argument("--db-opt", action="append", default=[], metavar="KEY=VALUE",
                    help="database option (repeatable; the adapter lists its options)")
    status = sub.add_parser("status", help="show node reachability and DB role/term/leader")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    down = sub.add_parser("down", help="remove the current cluster (or, with --all, every run's)")
    down.add_argument("--all", action="store_true", help="sweep leftovers of every run and backend")
    down.add_argument("--backend", choices=("docker", "netns", "ssh"),
                      help="with --all: sweep only this backend")
    for q in (up, status, down):
        q.add_argument("--store", default="./store", help="result store (default ./store)")
    p.set_defaults(func=run)


def run(args) -> int:
    handler = {"up": _up, "status": _status, "down": _down}[args.action]
    return asyncio.run(handler(args))


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


async def _up(args) -> int:
    cs.check_nodes(args.nodes)
    db_opts = parse_db_opts(args.db, args.db_opt, source="--db-opt")   # bad: 254 before anything
    if args.inventory:
        load_inventory(args.inventory)      # bad inventory: exit 254 before anything is made
    start = time.monotonic()
    run_id = cs.new_run_id()
    run_dir = cs.clusters_dir(args.store) / run_id
    cluster = await cs.provision(args.backend, args.nodes, run_dir, inventory=args.inventory,
                                 run_id=run_id, progress=_say)
    try:
        cs.write_record(cluster, args.store)
        if not args.no_db:
            cluster.db = await _start_db(cluster, args.db, db_opts)
            cs.write_record(cluster, args.store)
    except BaseException:
        _say("cluster up failed: tearing down what was made")
        await cs.teardown(cluster)
        raise
    _say(f"cluster {run_id} up in {time.monotonic() - start:.1f} s ({cluster.backend}); "
         f"record {run_dir / 'cluster.json'}")
    for h in cluster.hosts:
        print(f"{h.name}\t{h.address}\tssh {h.user}@{h.ssh_host}:{h.ssh_port}")
    return 0


async def _start_db(cluster: cs.Cluster, name: str, options: dict) -> dict:
    db = make_db(name, cluster.hosts, options)
    remotes = await connect_all(cluster.hosts)
    try:
        leader = await cs.start_db(db, remotes)
    finally:
        await close_all(remotes)
    _say(f"{db.name}: leader {leader}")
    return db.describe()


async def _probe(host, db) -> dict:
    row = {"node": host.name, "address": host.address, "sshd": False,
           "role": None, "term": None, "leader": None}
    remote = SshRemote(host, connect_timeout=3.0)
    try:
        await remote.connect()
        row["sshd"] = True
    except HostUnreachable as exc:
        row["sshd_error"] = str(exc)
    finally:
        await remote.close()
    status = await db.status(host) if db else None
    if status:
        row.update(role=status.get("role"), term=status.get("term"), leader=status.get("leader"))
    return row


async def _status(args) -> int:
    cluster = cs.current_record(args.store)
    db = db_from_record(cluster.hosts, cluster.db)
    rows = await asyncio.gather(*(_probe(h, db) for h in cluster.hosts))
    if args.json:
        print(json.dumps({"run_id": cluster.run_id, "backend": cluster.backend,
                          "nodes": rows}, indent=2))
        return 0
    print(f"cluster {cluster.run_id} ({cluster.backend}, {len(rows)} nodes)")
    print(f"{'node':6} {'address':16} {'sshd':5} {'role':14} {'term':>5} leader")
    for r in rows:
        print(f"{r['node']:6} {r['address']:16} {'yes' if r['sshd'] else 'NO':5} "
              f"{r['role'] or '-':14} {r['term'] if r['term'] is not None else '-':>5} "
              f"{r['leader'] or '-'}")
    return 0


async def _down(args) -> int:
    if args.all:
        return await _down_all(args.store, args.backend)
    cluster = cs.current_record(args.store)
    await cs.teardown(cluster)
    (cs.clusters_dir(args.store) / "current").unlink(missing_ok=True)
    _say(f"cluster {cluster.run_id} ({cluster.backend}) removed")
    return 0


async def _down_all(store: str, only: str | None) -> int:
    swept: dict[str, list[str]] = {}
    for name, why in availability().items():
        if only not in (None, name):
            continue
        if why is None:
            swept[name] = await make_backend(name).sweep()
        else:
            _say(f"{name}: skipped ({why})")
    for cluster in cs.all_records(store):
        if cluster.backend == "ssh" and cluster.inventory and only in (None, "ssh"):
            try:
                await cs.teardown(cluster)
                swept.setdefault("ssh", []).append(cluster.run_id)
            except HarnessError as exc:
                _say(f"ssh run {cluster.run_id}: not removed: {exc}")
    (cs.clusters_dir(store) / "current").unlink(missing_ok=True)
    for name, runs in swept.items():
        _say(f"{name}: removed {len(runs)} run(s){': ' + ', '.join(runs) if runs else ''}")
    return 0
