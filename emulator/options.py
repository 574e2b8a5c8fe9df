"""Command-line options of `python -m emulator` and the data directory's cluster identity
(layer: emulator shell). Every problem is a `StartupError` with a one-line message.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass

from blake3 import blake3

from .errors import StartupError

SHELL_BUGS = ("stale-read", "early-ack", "no-fsync")
CORE_BUGS = ("vote-twice", "lease-no-check-quorum")
BACKUP_BUGS = ("incr-drop-boundary", "pitr-off-by-one", "backup-torn-cut")
REGION_BUGS = ("ship-early-ack", "verify-skip-manifest-checksum", "repair-unverified-source")
WAL_BUGS = ("wal-skip-checksum",)
IDENTITY_FILE = "cluster.json"


@dataclass(frozen=True)
class Options:
    id: str
    listen: tuple[str, int]
    peers: dict[str, tuple[str, int]]
    data: str
    election_timeout_ms: int
    heartbeat_ms: int
    snapshot_every: int
    request_timeout_ms: int
    bugs: frozenset[str]
    backup_dir: str = ""
    backup_chunk_size: int = 4 << 20
    backup_max_concurrent: int = 2
    archive_interval_ms: int = 200
    regions: tuple = ()                 # ((name, (host, port)), ...): region stores to ship to

    @property
    def cluster_id(self) -> str:
        spec = ",".join(f"{k}={h}:{p}" for k, (h, p) in sorted(self.peers.items()))
        return blake3(spec.encode()).hexdigest()[:16]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise StartupError(f"bad arguments: {message}; see python -m emulator --help")


def parse_addr(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise StartupError(f"{what} {text!r} is not HOST:PORT with a port in 1..65535")
    return host, int(port)


def parse_peers(text: str) -> dict[str, tuple[str, int]]:
    peers: dict[str, tuple[str, int]] = {}
    for item in text.split(","):
        name, sep, addr = item.partition("=")
        if not sep or not name:
            raise StartupError(f"--peers item {item!r} is not ID=HOST:PORT")
        if name in peers:
            raise StartupError(f"--peers names {name!r} twice")
        peers[name] = parse_addr(addr, f"--peers address of {name}")
    return peers


def _parser() -> _Parser:
    p = _Parser(prog="python -m emulator", description="HeliosDB-emulating Raft KV node")
    p.add_argument("--id", required=True)
    p.add_argument("--listen", required=True, help="HOST:PORT for clients and peers")
    p.add_argument("--peers", required=True, help="n1=HOST:PORT,n2=... (all voters, incl. --id)")
    p.add_argument("--data", required=True, help="data directory (WAL, snapshot, events.jsonl)")
    p.add_argument("--election-timeout-ms", type=int, default=1000,
                   help="mean randomized election timeout; each is drawn from [2/3, 4/3] of it")
    p.add_argument("--heartbeat-ms", type=int, default=100,
                   help="leader heartbeat period; the core ticks every half of it")
    p.add_argument("--snapshot-every", type=int, default=10000,
                   help="snapshot and compact the log every N applied entries")
    p.add_argument("--request-timeout-ms", type=int, default=5000)
    p.add_argument("--backup-dir", default=None,
                   help="backup repository (default: DATA's sibling directory DATA-backups)")
    p.add_argument("--backup-chunk-size", type=int, default=4 << 20,
                   help="bytes per backup chunk file")
    p.add_argument("--backup-max-concurrent", type=int, default=2,
                   help="backups running at once on this node; more are refused (backup_busy)")
    p.add_argument("--archive-interval-ms", type=int, default=200,
                   help="seal archived log records into a segment at least this often")
    p.add_argument("--region", action="append", default=[],
                   help="NAME=HOST:PORT of a region store to ship every backup and segment to")
    p.add_argument("--bug", action="append", default=[],
                   choices=SHELL_BUGS + CORE_BUGS + BACKUP_BUGS + REGION_BUGS + WAL_BUGS,
                   help="enable a planted bug (repeatable)")
    return p


def parse(argv: list[str]) -> Options:
    a = _parser().parse_args(argv)
    peers = parse_peers(a.peers)
    if a.id not in peers:
        raise StartupError(f"--id {a.id!r} is not among --peers {sorted(peers)}; list every "
                           f"voter including this node")
    if a.heartbeat_ms < 2:
        raise StartupError(f"--heartbeat-ms {a.heartbeat_ms} must be at least 2")
    if a.election_timeout_ms < 3 * a.heartbeat_ms:
        raise StartupError(f"--election-timeout-ms {a.election_timeout_ms} must be at least "
                           f"three times --heartbeat-ms {a.heartbeat_ms}")
    for flag, v in (("--snapshot-every", a.snapshot_every),
                    ("--request-timeout-ms", a.request_timeout_ms),
                    ("--backup-chunk-size", a.backup_chunk_size),
                    ("--backup-max-concurrent", a.backup_max_concurrent),
                    ("--archive-interval-ms", a.archive_interval_ms)):
        if v < 1:
            raise StartupError(f"{flag} {v} must be a positive integer")
    return Options(id=a.id, listen=parse_addr(a.listen, "--listen"), peers=peers, data=a.data,
                   election_timeout_ms=a.election_timeout_ms, heartbeat_ms=a.heartbeat_ms,
                   snapshot_every=a.snapshot_every, request_timeout_ms=a.request_timeout_ms,
                   bugs=frozenset(a.bug), backup_dir=a.backup_dir or default_backup_dir(a.data),
                   backup_chunk_size=a.backup_chunk_size,
                   backup_max_concurrent=a.backup_max_concurrent,
                   archive_interval_ms=a.archive_interval_ms,
                   regions=tuple(sorted(parse_peers(",".join(a.region)).items())) if a.region else ())


def default_backup_dir(data: str) -> str:
    """DATA's sibling `DATA-backups`: it survives wiping the data directory."""
    data = os.path.abspath(data)
    return os.path.join(os.path.dirname(data), os.path.basename(data) + "-backups")


def claim_data_dir(opts: Options) -> None:
    """Create the data dir, or check it belongs to this cluster and node (first start
    stores the identity)."""
    try:
        os.makedirs(opts.data, exist_ok=True)
    except OSError as e:
        raise StartupError(f"--data {opts.data!r}: cannot create: {e.strerror}") from None
    try:
        os.makedirs(opts.backup_dir, exist_ok=True)
    except OSError as e:
        raise StartupError(f"--backup-dir {opts.backup_dir!r}: cannot create: {e.strerror}; "
                           f"name a writable directory") from None
    path = os.path.join(opts.data, IDENTITY_FILE)
    mine = {"cluster": opts.cluster_id, "node": opts.id}
    try:
        with open(path) as f:
            theirs = json.load(f)
    except FileNotFoundError:
        with open(path + ".tmp", "w") as f:
            json.dump(mine, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + ".tmp", path)
        return
    except (OSError, ValueError) as e:
        raise StartupError(f"{path}: unreadable cluster identity ({e})") from None
    if theirs != mine:
        raise StartupError(
            f"--data {opts.data!r} belongs to cluster {theirs.get('cluster')} node "
            f"{theirs.get('node')}, not cluster {mine['cluster']} node {opts.id} (derived from "
            f"--peers and --id); use this node's own directory or an empty one")
