"""Docker backend benchmark: node image build from nothing, and 7-node up/down.

Build: `ensure_image(force=True)` with an empty wheel cache, i.e. debootstrap
of the base from the configured apt mirror, `docker import`, wheel download,
and the node image built with no layer cache, into a scratch repository (so
clusters others are running keep their image). Up/down: DockerBackend.up
until every sshd answers its banner (image already built), then down,
`--runs` times; medians reported.

    python bench/image_build.py [--nodes 7] [--runs 5] [--skip-build]

Prints one line per measurement and JSON on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncssh  # noqa: E402

from harness.image import docker_client, ensure_image  # noqa: E402
from harness.provision._base import ClusterSpec  # noqa: E402
from harness.provision.docker import DockerBackend  # noqa: E402

SCRATCH_REPO = "heliosdb-node-bench"


def build_from_nothing() -> dict:
    client = docker_client()
    marks: list[tuple[float, str]] = []
    start = time.monotonic()

    def progress(msg: str) -> None:
        marks.append((time.monotonic() - start, msg))

    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache          # no cached wheels either
        try:
            ensure_image(progress, force=True, client=client, repo=SCRATCH_REPO)
        finally:
            del os.environ["XDG_CACHE_HOME"]
            for image in client.images.list(name=SCRATCH_REPO):
                for tag in image.tags:
                    client.images.remove(tag, force=True)
    total = time.monotonic() - start
    phases = {m.split(" ")[0]: round(t, 1) for t, m in marks
              if m.startswith(("debootstrap ", "importing", "downloading", "building"))}
    print(f"image build from nothing: {total:.1f} s (phase start times: {phases})", flush=True)
    return {"build_s": round(total, 1), "phase_start_s": phases}


async def up_down(nodes: int, runs: int) -> dict:
    backend = DockerBackend()
    await asyncio.to_thread(ensure_image, lambda _m: None)
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    ups, downs = [], []
    for i in range(runs):
        spec = ClusterSpec(run_id=f"bench{os.getpid()}x{i}", nodes=nodes,
                           run_dir=Path(tempfile.gettempdir()), public_key=key)
        start = time.monotonic()
        try:
            await backend.up(spec, lambda _m: None)
            ups.append(time.monotonic() - start)
        finally:
            start = time.monotonic()
            await backend.down(spec.run_id)
            downs.append(time.monotonic() - start)
        print(f"run {i + 1}: up {ups[-1]:.2f} s, down {downs[-1]:.2f} s", flush=True)
    return {"nodes": nodes, "runs": runs,
            "up_median_s": round(statistics.median(ups), 2),
            "down_median_s": round(statistics.median(downs), 2),
            "up_s": [round(x, 2) for x in ups], "down_s": [round(x, 2) for x in downs]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=7)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--skip-build", action="store_true", help="only the up/down figures")
    args = p.parse_args()
    result = {} if args.skip_build else build_from_nothing()
    result.update(asyncio.run(up_down(args.nodes, args.runs)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
