"""Test helper: a real cluster of `python -m emulator` processes on loopback.

Each node gets its own 127.0.0.x address (so iptables rules can single out a
pair of nodes) and a free port. `Cluster.close()` kills every process it started,
paused ones included; use it from a fixture's finally.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from emulator.client import Client, ClientError

ROOT = Path(__file__).resolve().parents[2]
FAST = ("--election-timeout-ms", "600", "--heartbeat-ms", "60")


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(pred, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Cluster:
    def __init__(self, base: Path, n: int, args=FAST, bugs=(), first_ip: int = 11,
                 prefix: str = "127.0.0."):
        self.base, self.args, self.bugs = base, tuple(args), tuple(bugs)
        base.mkdir(parents=True, exist_ok=True)
        self.ids = [f"n{i + 1}" for i in range(n)]
        self.addr = {}
        for i, nid in enumerate(self.ids):
            host = f"{prefix}{first_ip + i}"
            self.addr[nid] = (host, free_port(host))
        self.procs: dict[str, subprocess.Popen] = {}
        self.paused: set[str] = set()

    def data(self, nid: str) -> Path:
        return self.base / nid

    def argv(self, nid: str, extra=()) -> list[str]:
        peers = ",".join(f"{i}={h}:{p}" for i, (h, p) in self.addr.items())
        h, p = self.addr[nid]
        bugs = [a for b in self.bugs for a in ("--bug", b)]
        return [sys.executable, "-m", "emulator", "--id", nid, "--listen", f"{h}:{p}",
                "--peers", peers, "--data", str(self.data(nid)), *self.args, *bugs, *extra]

    def start(self, nid: str, extra=()) -> subprocess.Popen:
        log = open(self.base / f"{nid}.stderr", "ab")
        proc = subprocess.Popen(self.argv(nid, extra), cwd=ROOT, stderr=log,
                                stdout=subprocess.DEVNULL)
        log.close()
        self.procs[nid] = proc
        wait_for(lambda: self.status(nid) or proc.poll() is not None, 15, f"{nid} to listen")
        assert proc.poll() is None, f"{nid} exited {proc.returncode}: {self.stderr(nid)}"
        return proc

    def start_all(self) -> "Cluster":
        for nid in self.ids:
            self.start(nid)
        return self

    def stderr(self, nid: str) -> str:
        p = self.base / f"{nid}.stderr"
        return p.read_text() if p.exists() else ""

    def signal(self, nid: str, sig: int) -> None:
        self.procs[nid].send_signal(sig)
        if sig == signal.SIGSTOP:
            self.paused.add(nid)
        elif sig == signal.SIGCONT:
            self.paused.discard(nid)

    def kill(self, nid: str) -> None:
        proc = self.procs.pop(nid)
        proc.kill()
        proc.wait(10)
        self.paused.discard(nid)

    def kill_all(self) -> None:
        """SIGKILL every node at once (a power cut), then reap them."""
        for proc in self.procs.values():
            proc.kill()
        for proc in self.procs.values():
            proc.wait(10)
        self.procs.clear()
        self.paused.clear()

    def stop(self, nid: str) -> int:
        proc = self.procs.pop(nid)
        proc.terminate()
        return proc.wait(10)

    def close(self) -> None:
        for nid, proc in list(self.procs.items()):
            if nid in self.paused:
                proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait(10)
        self.procs.clear()

    # ---- requests -------------------------------------------------------------------

    def request(self, nid: str, req: dict, timeout: float = 3.0) -> dict | None:
        """One request on a fresh connection; None if the node did not answer."""
        try:
            with Client(*self.addr[nid], timeout=timeout) as c:
                return c.request(req)
        except ClientError:
            return None

    def status(self, nid: str) -> dict | None:
        return self.request(nid, {"op": "status"}, timeout=1.0)

    def leader(self, among=None, timeout: float = 15.0, not_term: int = -1) -> str:
        """Wait until one running node is leader and a majority of `among` agree."""
        among = [n for n in (among or self.ids) if n in self.procs and n not in self.paused]

        def find():
            st = {n: self.status(n) for n in among}
            leaders = [n for n, s in st.items() if s and s["role"] == "leader"
                       and s["term"] != not_term]
            if len(leaders) != 1:
                return None
            agree = sum(1 for s in st.values() if s and s["leader"] == leaders[0])
            return leaders[0] if agree > len(self.ids) // 2 else None
        return wait_for(find, timeout, f"a leader among {among}", interval=0.1)

    def write(self, key, value, timeout: float = 15.0) -> dict:
        """put through whichever node leads, retrying redirects and elections."""
        def attempt():
            for nid in list(self.procs):
                if nid in self.paused:
                    continue
                r = self.request(nid, {"op": "put", "key": key, "value": value})
                if r and r["ok"]:
                    return r
            return None
        return wait_for(attempt, timeout, f"put {key}={value}", interval=0.1)

    def events(self, nid: str) -> list[dict]:
        p = self.data(nid) / "events.jsonl"
        return [json.loads(x) for x in p.read_text().splitlines()] if p.exists() else []


def run_node(argv_tail: list[str], timeout: float = 15.0) -> subprocess.CompletedProcess:
    """Run `python -m emulator ARGS` expecting it to exit (start-up errors)."""
    return subprocess.run([sys.executable, "-m", "emulator", *argv_tail], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
