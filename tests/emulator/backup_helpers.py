"""Test helpers for backups: run the offline restore, read what it restored, and the
oracle (the state at an LSN implied by acknowledged writes, each with its lsn)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from emulator import repo as R
from emulator import snapshot as snapfile
from emulator_cluster import ROOT

ARGS = ("--election-timeout-ms", "600", "--heartbeat-ms", "60", "--archive-interval-ms", "50")


def repo_of(cluster, nid: str) -> Path:
    return cluster.base / f"{nid}-backups"


def run_tool(*argv: str) -> tuple[int, dict | None, str]:
    """`python -m emulator ARGV`: (exit code, the stdout JSON line or None, stderr)."""
    p = subprocess.run([sys.executable, "-m", "emulator", *argv], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    line = p.stdout.strip().splitlines()
    return p.returncode, json.loads(line[-1]) if line else None, p.stderr


def restore(repo: Path, data: Path, *target: str) -> tuple[int, dict | None, str]:
    return run_tool("restore", "--repo", str(repo), "--data", str(data), *target)


def restored_state(data: Path) -> tuple[int, dict]:
    """(snapshot index, {json key: value}) of a restored data directory."""
    snap = snapfile.load(str(data))
    return snap.index, json.loads(snap.data)


class Writes:
    """Acknowledged puts with their lsn: the oracle for restores."""

    def __init__(self):
        self.acked: list[tuple[int, str, object]] = []
        self.lock = threading.Lock()

    def put(self, cluster, nid: str, key: str, value) -> dict:
        r = cluster.request(nid, {"op": "put", "key": key, "value": value})
        assert r and r["ok"], r
        with self.lock:
            self.acked.append((r["lsn"], key, value))
        return r

    def at(self, lsn: int) -> dict:
        """{json key: value} after every acknowledged put with lsn <= `lsn`."""
        state = {}
        with self.lock:
            for at, key, value in sorted(self.acked, key=lambda w: w[0]):
                if at <= lsn:
                    state[json.dumps(key)] = value
        return state


def mine(state: dict, prefix: str = '"k') -> dict:
    """The keys a test wrote itself (not the bulk-loaded ones)."""
    return {k: v for k, v in state.items() if k.startswith(prefix)}


def archived_records(repo: Path) -> list[dict]:
    segs, bad = R.load_segments(str(repo))
    assert not bad, bad
    return [r for m in segs for r in R.read_segment(str(repo), m)]


class Writer(threading.Thread):
    """Puts keys k0..k{n-1} round-robin until stopped, recording acked lsns in `writes`."""

    def __init__(self, cluster, nid: str, writes: Writes, n: int = 50):
        super().__init__(daemon=True)
        self.cluster, self.nid, self.writes, self.n = cluster, nid, writes, n
        self.stop = threading.Event()
        self.count = 0

    def run(self):
        from emulator.client import Client
        with Client(*self.cluster.addr[self.nid], timeout=5) as c:
            while not self.stop.is_set():
                key, value = f"k{self.count % self.n}", self.count
                r = c.request({"op": "put", "key": key, "value": value})
                assert r["ok"], r
                with self.writes.lock:
                    self.writes.acked.append((r["lsn"], key, value))
                self.count += 1
