"""Nemesis latency benchmark: fault request -> in effect, heal request -> verified connectivity.

For each backend, brings up a 3-node cluster (no DB), connects over SSH (the
run's control path), and 20 times: isolates a node (a fresh partition each
time, cycling n1..n3), then heals. "In effect" is the partition's info event
(every iptables rule installed and confirmed on every host); "verified" is
the heal's info event (N x N reachability probe clean and no harness rule
or qdisc left). Times come from the nemesis's own events.

    python bench/nemesis.py [--backends netns,docker,netns-local] [--runs 20]

Prints one line per backend and JSON on the last line.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import cluster_state as cs  # noqa: E402
from harness.control import LocalRemote, close_all, connect_all  # noqa: E402
from nemesis import Ledger, Nemesis, build_grudge  # noqa: E402


async def measure(backend: str, runs: int) -> dict:
    """backend "netns-local": netns hosts driven through `ip netns exec` (no SSH
    hop), to separate the nemesis's own cost from the SSH transport's."""
    local = backend == "netns-local"
    with tempfile.TemporaryDirectory() as store:
        cluster = await cs.provision("netns" if local else backend, 3, Path(store) / "c",
                                     progress=lambda m: None)
        try:
            remotes = ([LocalRemote(h, netns=h.extra["netns"]) for h in cluster.hosts] if local
                       else await connect_all(cluster.hosts))
            try:
                return await _loop(remotes, Path(store), runs)
            finally:
                await close_all(remotes)
        finally:
            await cs.teardown(cluster)


async def _loop(remotes, run_dir: Path, runs: int) -> dict:
    events: list[dict] = []
    t0 = time.monotonic_ns()
    nem = Nemesis({r.host.name: r for r in remotes}, Ledger(run_dir), record=events.append,
                  clock=lambda: time.monotonic_ns() - t0, probe_timeout=0.3)
    await nem.heal()                       # warm-up: iptables detection, first exec
    apply_ms, heal_ms, failures = [], [], 0
    for i in range(runs):
        grudge = build_grudge("isolate-one", nem.nodes, random.Random(i), node=nem.nodes[i % 3])
        events.clear()
        await nem.partition(grudge)
        start, done = (e["time"] for e in events if e["f"] == "partition")
        apply_ms.append((done - start) / 1e6)
        events.clear()
        result = await nem.heal()
        start, done = (e["time"] for e in events if e["f"] == "heal")
        heal_ms.append((done - start) / 1e6)
        failures += not result["ok"]
    return {"runs": runs, "heal_failures": failures,
            "apply_ms": {"median": round(statistics.median(apply_ms), 1),
                         "max": round(max(apply_ms), 1)},
            "heal_verified_ms": {"median": round(statistics.median(heal_ms), 1),
                                 "max": round(max(heal_ms), 1)}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="netns,docker,netns-local")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    results = {}
    for backend in args.backends.split(","):
        results[backend] = asyncio.run(measure(backend, args.runs))
        r = results[backend]
        print(f"{backend}: partition in effect median {r['apply_ms']['median']} ms "
              f"max {r['apply_ms']['max']} ms; heal verified median "
              f"{r['heal_verified_ms']['median']} ms max {r['heal_verified_ms']['max']} ms; "
              f"heal failures {r['heal_failures']}/{r['runs']}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
