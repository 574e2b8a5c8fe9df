"""Per-command SSH cost into a netns node, with and without root's shell startup files masked.

Brings up a 1-node netns cluster, opens one SshRemote and times `runs`
execs of each command over it (median). `--unmasked` provisions the node
the way the backend did before the fix (no bind mounts over root's
.bashrc/.profile, no SetEnv PATH) for an A/B on the same machine; it only
changes this process's copy of the backend, never a file.

    python bench/netns_ssh_exec.py [--runs 20] [--unmasked]

Prints JSON: command -> median ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import cluster_state as cs  # noqa: E402
from harness.control import close_all, connect_all  # noqa: E402
from harness.provision import netns  # noqa: E402

COMMANDS = (["true"], ["sh", "-c", "iptables -w -S >/dev/null"],
            ["python3", "-c", "import blake3"])


def unmask() -> None:
    netns._STARTUP_FILES = ()
    netns._SSHD_CONFIG = netns._SSHD_CONFIG.replace('SetEnv "PATH={path}"\n', "")


async def measure(runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as store:
        cluster = await cs.provision("netns", 1, Path(store) / "c", progress=lambda m: None)
        remotes = []
        try:
            remotes = await connect_all(cluster.hosts)
            out = {}
            for argv in COMMANDS:
                times = []
                for _ in range(runs):
                    start = time.perf_counter()
                    await remotes[0].exec(argv)
                    times.append((time.perf_counter() - start) * 1000)
                out[" ".join(argv)] = round(statistics.median(times), 1)
            return out
        finally:
            await close_all(remotes)
            await cs.teardown(cluster)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--unmasked", action="store_true",
                        help="provision without the startup-file masks (the old behaviour)")
    args = parser.parse_args()
    if args.unmasked:
        unmask()
    print(json.dumps(asyncio.run(measure(args.runs))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
