"""Provision and tear down a cluster, and keep its record on disk (layer: harness).

The Python API the CLI (`harness cluster`) and the runner share:

- `await provision(backend_name, nodes, run_dir, inventory=None, progress=print) -> Cluster`
- `await teardown(cluster)`
- `write_record(cluster, store)` writes <store>/clusters/<run_id>/cluster.json and points
  <store>/clusters/current at it; `load_record(path)` / `current_record(store)` read it back.

A Cluster is everything needed to reach the hosts later from another process:
backend, run id, hosts (with pinned host keys) and the run's key paths.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.control import Host, generate_keypair
from harness.errors import BadInput, HarnessError
from harness.provision._base import Backend, ClusterSpec
from harness.provision._select import make_backend, resolve

MAX_NODES = 9


@dataclass
class Cluster:
    backend: str
    run_id: str
    created: str
    run_dir: Path
    hosts: list[Host]
    key_path: str
    public_key_path: str
    inventory: str | None = None
    db: dict | None = None
    # The live backend object (holds e.g. the netns run lock); not part of the record.
    backend_obj: Backend | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict:
        return {"backend": self.backend, "run_id": self.run_id, "created": self.created,
                "run_dir": str(self.run_dir), "key_path": self.key_path,
                "public_key_path": self.public_key_path, "inventory": self.inventory,
                "db": self.db, "hosts": [dataclasses.asdict(h) for h in self.hosts]}

    @classmethod
    def from_json(cls, data: dict) -> "Cluster":
        return cls(backend=data["backend"], run_id=data["run_id"], created=data["created"],
                   run_dir=Path(data["run_dir"]), key_path=data["key_path"],
                   public_key_path=data["public_key_path"], inventory=data.get("inventory"),
                   db=data.get("db"), hosts=[Host(**h) for h in data["hosts"]])


def check_nodes(nodes: int) -> int:
    if not isinstance(nodes, int) or not 1 <= nodes <= MAX_NODES or nodes % 2 == 0:
        raise BadInput(f"--nodes: must be an odd number from 1 to {MAX_NODES}, got {nodes}")
    return nodes


def new_run_id() -> str:
    """Sortable and unique: YYYYmmddTHHMMSS-<6 hex> (the hex part names netns links)."""
    return time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


async def provision(backend_name: str, nodes: int, run_dir: Path | str, *,
                    inventory: str | None = None, run_id: str | None = None,
                    progress: Callable[[str], None] = print, regions: int = 0) -> Cluster:
    """Bring up `nodes` hosts with a fresh run keypair in `run_dir`; return the Cluster.

    Bad input (node count, backend, inventory) raises BadInput before anything is
    made; a failure while bringing up leaves nothing behind (the backend cleans up).
    """
    check_nodes(nodes)
    name = resolve(backend_name, inventory)
    backend = make_backend(name, inventory)
    run_id = run_id or new_run_id()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    key = run_dir / "id_ed25519"
    public = generate_keypair(key, f"harness-{run_id}")
    spec = ClusterSpec(run_id=run_id, nodes=nodes, run_dir=run_dir, public_key=public,
                       regions=regions)
    progress(f"{name}: bringing up {nodes} node(s)"
             + (f" and {regions} region host(s)" if regions else "") + f", run {run_id}")
    hosts = await backend.up(spec, progress)
    hosts = [h if h.key_path else dataclasses.replace(h, key_path=str(key)) for h in hosts]
    hosts = [dataclasses.replace(h, region=h.name) if h.name in region_names(regions) else h
             for h in hosts]
    return Cluster(backend=name, run_id=run_id, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                   run_dir=run_dir, hosts=hosts, key_path=str(key),
                   public_key_path=str(key) + ".pub",
                   inventory=os.path.abspath(inventory) if inventory else None,
                   backend_obj=backend)


def region_names(regions: int) -> list[str]:
    """The region hosts a case asks for: r1..rK (backup stores, not database nodes)."""
    return [f"r{i}" for i in range(1, regions + 1)]


def split_hosts(hosts: list[Host], regions: int) -> tuple[list[Host], list[Host]]:
    """(database nodes, region hosts) of a cluster provisioned with `regions`."""
    names = set(region_names(regions))
    return [h for h in hosts if h.name not in names], [h for h in hosts if h.name in names]


async def teardown(cluster: Cluster) -> None:
    """Remove everything the cluster's backend made for this run (idempotent)."""
    backend = cluster.backend_obj or make_backend(cluster.backend, cluster.inventory)
    await backend.down(cluster.run_id)


def clusters_dir(store: Path | str) -> Path:
    return Path(store) / "clusters"


def write_record(cluster: Cluster, store: Path | str) -> Path:
    """Write cluster.json into the run dir and point <store>/clusters/current at it."""
    path = cluster.run_dir / "cluster.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cluster.to_json(), indent=2) + "\n")
    os.replace(tmp, path)
    current = clusters_dir(store) / "current"
    current.parent.mkdir(parents=True, exist_ok=True)
    link_tmp = current.with_name("current.tmp")
    if link_tmp.is_symlink():
        link_tmp.unlink()
    link_tmp.symlink_to(os.path.relpath(cluster.run_dir, current.parent))
    os.replace(link_tmp, current)
    return path


def load_record(path: Path | str) -> Cluster:
    path = Path(path)
    try:
        return Cluster.from_json(json.loads(path.read_text()))
    except OSError as exc:
        raise HarnessError(f"cluster record {path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise HarnessError(f"cluster record {path}: not a valid cluster.json: {exc}") from None


def current_record(store: Path | str) -> Cluster:
    current = clusters_dir(store) / "current" / "cluster.json"
    if not current.exists():
        raise HarnessError(f"no current cluster under {clusters_dir(store)} "
                           "(run `harness cluster up` first, or pass --store)")
    return load_record(current)


def all_records(store: Path | str) -> list[Cluster]:
    """Every readable cluster.json under <store>/clusters (skips `current` and broken ones)."""
    found = []
    base = clusters_dir(store)
    for path in sorted(base.glob("*/cluster.json")) if base.is_dir() else []:
        if path.parent.name == "current":
            continue
        try:
            found.append(load_record(path))
        except HarnessError:
            continue
    return found


async def start_db(db, remotes, *, timeout: float = 20.0) -> str:
    """Install and start `db` on every node, wait for a leader; return the leader's name.

    On failure the error carries the last lines of each node's log.
    """
    from harness.control import on_all
    await on_all(remotes, db.setup)
    await on_all(remotes, db.start)
    try:
        return await db.wait_for_leader(timeout)
    except HarnessError as exc:
        tails = await on_all(remotes, db.node_log_tail)
        detail = "; ".join(f"{r.host.name}: {t.splitlines()[-1] if t else '(empty log)'}"
                           for r, t in zip(remotes, tails))
        raise HarnessError(f"{exc}; node logs: {detail}") from None
