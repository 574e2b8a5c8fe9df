"""A stand-in for `harness run` in tests: partition inside nemesis_session, then wait.

Usage: python nemesis_driver.py CLUSTER_JSON RUN_DIR
Connects over SSH (the real control path), isolates n1, prints "partitioned",
then idles up to 60 s; SIGINT/SIGTERM must heal before it exits.
"""

import asyncio
import sys
import time

from harness import cluster_state as cs
from harness.control import close_all, connect_all
from harness.errors import HarnessError
from nemesis import Ledger, Nemesis, nemesis_session


async def main(cluster_json: str, run_dir: str) -> None:
    cluster = cs.load_record(cluster_json)
    remotes = await connect_all(cluster.hosts)
    start = time.monotonic_ns()
    nem = Nemesis({r.host.name: r for r in remotes}, Ledger(run_dir), record=lambda e: None,
                  clock=lambda: time.monotonic_ns() - start)
    try:
        async with nemesis_session(nem):
            await nem.partition({"n1": {"n2", "n3"}, "n2": {"n1"}, "n3": {"n1"}})
            print("partitioned", flush=True)
            await asyncio.sleep(60)
    finally:
        await close_all(remotes)


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2]))
    except HarnessError as exc:
        print(f"driver: {exc}", flush=True)
        sys.exit(exc.exit_code)
