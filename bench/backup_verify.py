"""Benchmark of the harness's own backup verification (harness/backup_verify.py).

    python bench/backup_verify.py [--size 256MiB] [--chunk 4MiB] [--repeat 3] [--dir DIR]

Writes one full backup of `--size` random bytes in `--chunk` chunks with a sealed
manifest (the repository format of docs/protocol.md, via emulator.repo), then:
(1) the harness verifier through a LocalRemote (what the harness does over SSH,
    minus the network): bytes hashed per second, `--repeat` times;
(2) the same run's ceiling: single-process in-memory BLAKE3 over a buffer of the
    same size (harness.backup_verify.local_blake3_rate);
(3) the verifier with one corrupted chunk, to show the rate is for bytes really
    hashed (the corrupt chunk is named, its bytes are not counted).
Prints a Markdown block for BENCHMARKS.md: medians and the ratio to the ceiling
(target >= 0.7).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT)]
from emulator import repo as R  # noqa: E402
from harness.backup_verify import local_blake3_rate, verify_backup  # noqa: E402
from harness.control._local import LocalRemote  # noqa: E402


def _size(text: str) -> int:
    units = {"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "B": 1}
    t = text.upper()
    for u, mult in units.items():
        if t.endswith(u):
            return int(float(t[:-len(u)]) * mult)
    return int(t)


def make_backup(repo: Path, size: int, chunk: int) -> str:
    bid = "n1-000001-full"
    d = repo / R.BACKUPS / bid
    d.mkdir(parents=True)
    content = os.urandom(size)
    chunks = R.write_chunks(str(d), content, chunk)
    m = R.sealed({"format": 1, "id": bid, "kind": "full", "parent": None, "node": "n1",
                  "start_lsn": 1, "end_lsn": 1, "term": 1, "end_ts": None, "created": 0.0,
                  "chunk_size": chunk, "bytes": size, "chunks": chunks, "digest": "0" * 16})
    R.write_atomic(str(d / R.MANIFEST), R.canonical(m))
    return bid


async def verify_rate(repo: Path, bid: str) -> tuple[float, dict]:
    remote = await LocalRemote().connect()
    t0 = time.perf_counter()
    out = await verify_backup(remote, str(repo), bid)
    return out["bytes_hashed"] / (time.perf_counter() - t0), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="256MiB")
    ap.add_argument("--chunk", default="4MiB")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    a = ap.parse_args()
    size, chunk = _size(a.size), _size(a.chunk)
    repo = Path(tempfile.mkdtemp(dir=a.dir, prefix="bench-verify-"))
    try:
        bid = make_backup(repo, size, chunk)
        rates, ceilings = [], []
        for _ in range(a.repeat):
            rate, out = asyncio.run(verify_rate(repo, bid))
            assert not out["bad"], out["bad"]
            rates.append(rate)
            ceilings.append(local_blake3_rate(size))
        victim = repo / R.BACKUPS / bid / "chunk-000001"
        data = bytearray(victim.read_bytes())
        data[7] ^= 0xFF
        victim.write_bytes(bytes(data))
        _, bad = asyncio.run(verify_rate(repo, bid))
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    v, c = statistics.median(rates), statistics.median(ceilings)
    print(f"```\npython bench/backup_verify.py --size {a.size} --chunk {a.chunk} "
          f"--repeat {a.repeat}\n```\n")
    print("| measure | median | runs |\n|---|---|---|")
    print(f"| harness verify (LocalRemote, {a.chunk} chunks) | {v / 1e6:.0f} MB/s | "
          f"{', '.join(f'{r / 1e6:.0f}' for r in rates)} |")
    print(f"| ceiling: BLAKE3 in memory, one process | {c / 1e6:.0f} MB/s | "
          f"{', '.join(f'{r / 1e6:.0f}' for r in ceilings)} |")
    print(f"| ratio verify / ceiling | {v / c:.2f} (target >= 0.7) | |")
    print(f"| one corrupted chunk | named: {bad['bad'][0]['chunk']} ({bad['bad'][0]['reason']}); "
          f"bytes counted {bad['bytes_hashed']} of {size} | |")


if __name__ == "__main__":
    main()
