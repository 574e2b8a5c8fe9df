"""Benchmark of the harness's own backup verification (harness/backup_verify.py).

    python bench/backup_verify.py [--size 1GiB] [--chunk 4MiB] [--repeat 5] [--dir DIR]

Writes one full backup of `--size` random bytes in `--chunk` chunks with a sealed
manifest (the repository format of docs/protocol.md, via emulator.repo), then, in turn
`--repeat` times (so the machine's load falls on all of them alike):
(1) the harness verifier through a LocalRemote (the node is this host; over SSH only
    the program and the small reply cross the network): its own program on the
    "node" (method "node"), backup bytes verified per second of the whole call
    (start of the program, manifest, every chunk, the reply, the comparison);
(2) the same program's scan called in this process with one hashing thread (window 1),
    to set its single-thread rate beside the single-thread ceiling;
(3) the fallback (method "sftp": every chunk fetched, hashed in this process);
(4) the same run's ceiling: single-process in-memory BLAKE3 over a buffer of the
    same size (harness.backup_verify.local_blake3_rate), on the same host;
(5) the verifier with one corrupted chunk, to show the rate is for bytes really
    hashed (the corrupt chunk is named, its bytes are not counted).
The manifest carries the content's true state digest and every run must report it: with
4 MiB chunks (the digest's pieces) the digest comes from the chunk hashes and each byte
goes through BLAKE3 once; with other chunk sizes the pieces are hashed too, and the table
gives the BLAKE3 bytes/s beside the backup bytes/s. Prints a Markdown block for BENCHMARKS.md: medians and the
ratios to the ceiling (target >= 0.7).
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
from emulator.statemachine import state_digest  # noqa: E402
from harness import backup_verify as V  # noqa: E402
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
                  "chunk_size": chunk, "bytes": size, "chunks": chunks,
                  "digest": state_digest(content)})
    R.write_atomic(str(d / R.MANIFEST), R.canonical(m))
    return bid


async def verify_rate(repo: Path, bid: str) -> tuple[float, dict]:
    remote = await LocalRemote().connect()
    t0 = time.perf_counter()
    out = await verify_backup(remote, str(repo), bid)
    return out["bytes_hashed"] / (time.perf_counter() - t0), out


async def sftp_rate(repo: Path, bid: str) -> tuple[float, dict]:
    """The fallback path alone: manifest and chunks fetched one by one, hashed here."""
    remote = await LocalRemote().connect()
    base, out = f"{repo}/backups/{bid}", {"bad": [], "bytes_hashed": 0}
    t0 = time.perf_counter()
    m = await V._manifest(remote, f"{base}/manifest.json", out)
    await V._chunks(remote, base, m, out)
    return out["bytes_hashed"] / (time.perf_counter() - t0), out


def one_thread_rate(repo: Path, bid: str) -> float:
    """The node program's scan, in this process, hashing in one thread."""
    t0 = time.perf_counter()
    out = V._node_scan_files(f"{repo}/backups/{bid}", window=1)
    assert out["threads"] == 1 and out["digest"]
    return out["bytes_hashed"] / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1GiB")
    ap.add_argument("--chunk", default="4MiB")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    a = ap.parse_args()
    size, chunk = _size(a.size), _size(a.chunk)
    repo = Path(tempfile.mkdtemp(dir=a.dir, prefix="bench-verify-"))
    rates, b3, node, single, sftp, ceilings, threads = [], [], [], [], [], [], set()
    try:
        bid = make_backup(repo, size, chunk)
        for _ in range(a.repeat):
            rate, out = asyncio.run(verify_rate(repo, bid))
            assert not out["bad"] and out["method"] == "node", out
            assert out["bytes_hashed"] == size and out["digest"] == out["manifest"]["digest"]
            rates.append(rate)
            b3.append(out["node_blake3_bytes"] / out["bytes_hashed"] * rate)
            node.append(out["bytes_hashed"] / out["node_seconds"])
            threads.add(out["node_threads"])
            single.append(one_thread_rate(repo, bid))
            rate, out = asyncio.run(sftp_rate(repo, bid))
            assert not out["bad"] and out["bytes_hashed"] == size, out
            sftp.append(rate)
            ceilings.append(local_blake3_rate(size))
        victim = repo / R.BACKUPS / bid / "chunk-000001"
        data = bytearray(victim.read_bytes())
        data[7] ^= 0xFF
        victim.write_bytes(bytes(data))
        _, bad = asyncio.run(verify_rate(repo, bid))
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    c = statistics.median(ceilings)
    load = os.getloadavg()[0]
    print(f"```\npython bench/backup_verify.py --size {a.size} --chunk {a.chunk} "
          f"--repeat {a.repeat}\n```\n(load average {load:.1f} at the end, "
          f"{os.cpu_count()} cores)\n")
    print("| measure | median | runs (MB/s) | / ceiling |\n|---|---|---|---|")

    def row(what, xs, ratio=True):
        m = statistics.median(xs)
        print(f"| {what} | {m / 1e6:.0f} MB/s | {', '.join(f'{r / 1e6:.0f}' for r in xs)} | "
              f"{f'{m / c:.2f}' if ratio else ''} |")
    n = ", ".join(map(str, sorted(threads)))
    row(f"harness verify, node program, {n} hashing threads (backup bytes / whole call, "
        f"{a.chunk} chunks)", rates)
    row("  the same, bytes through BLAKE3 (chunks, plus digest pieces that are not chunks)", b3)
    row("  the same, backup bytes / the node program's own hashing time", node)
    row("  the node program's scan, 1 hashing thread (in process)", single)
    row("harness verify, fallback: chunks fetched one by one, hashed here", sftp)
    row("ceiling: BLAKE3 in memory, one process, one thread, same host", ceilings, False)
    print(f"| one corrupted chunk | named: {bad['bad'][0]['chunk']} "
          f"({bad['bad'][0]['reason']}); bytes counted {bad['bytes_hashed']} of {size} | | |")


if __name__ == "__main__":
    main()
