"""Benchmark of the emulator node: throughput/latency of a 3-node cluster and leader-kill RTO.

    python bench/emulator.py [--seconds 10] [--clients 16] [--kills 20]

(1) 3 local nodes, fsync on, default timeouts (election 1000 ms, heartbeat 100 ms),
    `--clients` concurrent connections to the leader, 50% get / 50% put of small
    values: ops/s and p50/p99 latency.
(2) `--kills` times: SIGKILL the leader; measure the time to a new leader (a survivor
    reports role leader in a higher term) and to the first acknowledged write (RTO),
    then restart the old leader and let it catch up. Median and max.
Prints a Markdown block for BENCHMARKS.md. Uses real processes on 127.0.0.x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This file is named emulator.py: drop its own directory from the path so that
# `import emulator` finds the package, not this script.
_ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
sys.path[:0] = [str(_ROOT), str(_ROOT / "tests" / "emulator")]
from emulator_cluster import Cluster  # noqa: E402  (the tests' process launcher)

DEFAULTS = ("--election-timeout-ms", "1000", "--heartbeat-ms", "100")


async def _client(host, port, stop_at, lat, rng):
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    while time.monotonic() < stop_at:
        key = f"k{rng.randrange(100)}"
        req = ({"op": "get", "key": key} if rng.random() < 0.5
               else {"op": "put", "key": key, "value": rng.randrange(10**6)})
        t0 = time.perf_counter()
        writer.write(json.dumps(req).encode() + b"\n")
        reply = json.loads(await reader.readline())
        if not reply["ok"]:
            raise RuntimeError(f"benchmark request failed: {reply}")
        lat.append(time.perf_counter() - t0)
        n += 1
    writer.close()
    return n


async def _load(addr, clients: int, seconds: float):
    lat: list[float] = []
    stop_at = time.monotonic() + seconds
    t0 = time.monotonic()
    counts = await asyncio.gather(*(_client(*addr, stop_at, lat, random.Random(i))
                                    for i in range(clients)))
    elapsed = time.monotonic() - t0
    lat.sort()
    return sum(counts) / elapsed, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000


def throughput(base: Path, clients: int, seconds: float) -> dict:
    c = Cluster(base / "tp", 3, args=DEFAULTS)
    try:
        c.start_all()
        ld = c.leader()
        ops, p50, p99 = asyncio.run(_load(c.addr[ld], clients, seconds))
        return {"ops_per_s": ops, "p50_ms": p50, "p99_ms": p99}
    finally:
        c.close()


def _new_leader(c: Cluster, survivors, old_term: int):
    for n in survivors:
        s = c.status(n)
        if s and s["role"] == "leader" and s["term"] > old_term:
            return n
    return None


def _write_ok(c: Cluster, survivors, i: int) -> bool:
    for n in survivors:
        r = c.request(n, {"op": "put", "key": "rto", "value": i}, timeout=1.0)
        if r and r["ok"]:
            return True
    return False


def one_kill(c: Cluster, i: int) -> tuple[float, float]:
    ld = c.leader(timeout=30)
    term = c.status(ld)["term"]
    survivors = [n for n in c.ids if n != ld]
    t0 = time.monotonic()
    c.kill(ld)
    elected = rto = None
    while time.monotonic() - t0 < 30 and (elected is None or rto is None):
        if elected is None and _new_leader(c, survivors, term):
            elected = time.monotonic() - t0
        if rto is None and _write_ok(c, survivors, i):
            rto = time.monotonic() - t0
            elected = elected if elected is not None else rto
        time.sleep(0.01)
    if elected is None or rto is None:
        raise RuntimeError(f"kill {i}: no new leader/write within 30 s")
    c.start(ld)
    commit = c.status(c.leader(timeout=30))["commit"]
    deadline = time.monotonic() + 30
    while (c.status(ld) or {}).get("applied", -1) < commit and time.monotonic() < deadline:
        time.sleep(0.05)
    return elected, rto


def failover(base: Path, kills: int) -> dict:
    c = Cluster(base / "fo", 3, args=DEFAULTS, first_ip=31)
    try:
        c.start_all()
        res = [one_kill(c, i) for i in range(kills)]
    finally:
        c.close()
    el, rto = [r[0] for r in res], [r[1] for r in res]
    return {"kills": kills, "election_median_s": statistics.median(el), "election_max_s": max(el),
            "rto_median_s": statistics.median(rto), "rto_max_s": max(rto)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--kills", type=int, default=20)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="emu-bench-") as d:
        tp = throughput(Path(d), a.clients, a.seconds)
        print(f"throughput: {tp['ops_per_s']:.0f} ops/s, p50 {tp['p50_ms']:.1f} ms, "
              f"p99 {tp['p99_ms']:.1f} ms ({a.clients} clients, 50% get / 50% put, fsync on)")
        fo = failover(Path(d), a.kills) if a.kills else None
    if fo:
        print(f"failover ({fo['kills']} leader SIGKILLs, election timeout 1000 ms): "
              f"new leader median {fo['election_median_s']:.2f} s max {fo['election_max_s']:.2f} s; "
              f"RTO median {fo['rto_median_s']:.2f} s max {fo['rto_max_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
