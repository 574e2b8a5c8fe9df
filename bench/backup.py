"""Benchmark of the emulator's backups: full backup, verification, PITR replay, restore.

    python bench/backup.py [--size 64MiB] [--repeat 3] [--records 20000] [--dir DIR]

One single-node emulator (fsync on) is bulk-loaded to `--size` bytes of values, then:
(1) full backups (`--repeat` times, 4 MiB chunks): content bytes / node-reported seconds,
    next to the same run's disk ceiling: writing the same bytes as 4 MiB files with one
    fsync each, into the same directory, single-threaded (how the backup writes).
(2) the node's `verify` of each backup right after it: bytes hashed / second, next to
    the same run's single-process in-memory BLAKE3 rate over a buffer of the same size.
    Each backup but the last is then removed, as each ceiling's files are: this VM hands
    memory freed for about 2 s back to its host (virtio free page reporting), and a write
    into such pages runs at about a third of the rate into pages just freed (1.1-1.2 vs
    0.38-0.42 GiB/s for 64 MiB, measured back to back and after 3 s pauses); so every
    measured write, ceiling or backup, follows the removal of the one before it (the
    first ceiling follows an uncounted one).
(3) PITR replay: `--records` puts after a full backup, then the offline restore to the
    last LSN: archive records replayed / restore seconds.
(4) restore of the loaded store: the offline restore's seconds, and the RTO as the
    harness sees it: restore command start to a node on the restored directory answering
    a linearizable read.
Prints a Markdown block for BENCHMARKS.md (medians, and ratios to the ceilings).
Uses real processes on 127.0.0.x and temporary directories under `--dir` (default /tmp).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT), str(_ROOT / "tests" / "emulator")]
from blake3 import blake3  # noqa: E402

from emulator.client import Client  # noqa: E402
from emulator_cluster import Cluster  # noqa: E402

ARGS = ("--election-timeout-ms", "1000", "--heartbeat-ms", "100",
        "--snapshot-every", "1000000")
CHUNK = 4 << 20


def _size(text: str) -> int:
    units = {"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "B": 1}
    t = text.upper()
    for u, mult in units.items():
        if t.endswith(u):
            return int(float(t[:-len(u)]) * mult)
    return int(t)


def disk_rate(directory: Path, total: int) -> float:
    """Bytes/s writing `total` bytes as CHUNK-sized files, fsync each, then the directory."""
    d = Path(tempfile.mkdtemp(dir=directory, prefix="disk-"))
    buf = os.urandom(CHUNK)
    t0 = time.perf_counter()
    for i in range(0, total, CHUNK):
        with open(d / f"c{i // CHUNK}", "wb") as f:
            f.write(buf[:min(CHUNK, total - i)])
            f.flush()
            os.fsync(f.fileno())
    fd = os.open(d, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    rate = total / (time.perf_counter() - t0)
    shutil.rmtree(d)
    return rate


def blake3_rate(total: int) -> float:
    buf = os.urandom(min(total, 256 << 20))
    t0 = time.perf_counter()
    done = 0
    while done < total:
        blake3(buf).digest()
        done += len(buf)
    return done / (time.perf_counter() - t0)


def _restore(repo: Path, data: Path, *target: str) -> dict:
    import json
    p = subprocess.run([sys.executable, "-m", "emulator", "restore", "--repo", str(repo),
                        "--data", str(data), *target], cwd=_ROOT, capture_output=True,
                       text=True, timeout=3600)
    if p.returncode:
        raise RuntimeError(f"restore failed: {p.stdout} {p.stderr}")
    return json.loads(p.stdout)


def _puts(c: Cluster, n: int, clients: int = 8) -> None:
    def run(k):
        with Client(*c.addr["n1"], timeout=30) as cl:
            for i in range(k, n, clients):
                assert cl.request({"op": "put", "key": f"p{i % 500}", "value": i})["ok"]
    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def serve_time(base: Path, data: Path) -> float:
    """Seconds from start to a node on `data` answering a linearizable get (a large store
    takes longer to load than the test launcher's 15 s start-up wait)."""
    r = Cluster(base, 1, args=ARGS)
    r.base.mkdir(parents=True, exist_ok=True)
    data.rename(r.data("n1"))
    t0 = time.perf_counter()
    proc = subprocess.Popen(r.argv("n1"), cwd=_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    r.procs["n1"] = proc
    try:
        while proc.poll() is None and time.perf_counter() - t0 < 1800:
            got = r.request("n1", {"op": "get", "key": "p0"}, timeout=5)
            if got and got["ok"]:
                return time.perf_counter() - t0
            time.sleep(0.05)
        raise RuntimeError(f"restored node did not serve a read (exit {proc.poll()})")
    finally:
        r.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=_size, default=_size("64MiB"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(dir=a.dir, prefix="bench-backup-"))
    c = Cluster(work / "c", 1, args=ARGS)
    try:
        c.start_all()
        c.leader()
        t0 = time.perf_counter()
        assert c.request("n1", {"op": "load", "bytes": a.size, "value_size": 4096},
                         timeout=3600)["ok"]
        load_s = time.perf_counter() - t0
        fulls, disks, verifies, hashes = [], [], [], []
        repo = work / "c" / "n1-backups"
        disk_rate(work, a.size)  # not counted: the first ceiling follows a removal too
        for i in range(a.repeat):
            disks.append(disk_rate(work, a.size))
            r = c.request("n1", {"op": "backup", "kind": "full"}, timeout=3600)
            assert r["ok"], r
            fulls.append(r)
            hashes.append(blake3_rate(r["bytes"]))
            v = c.request("n1", {"op": "verify", "backup": r["backup"]}, timeout=3600)
            assert v["ok"] and v["valid"], v
            verifies.append(v["bytes"] / v["seconds"])
            if i < a.repeat - 1:
                shutil.rmtree(repo / "backups" / r["backup"])
            print(f"full backup {r['bytes']} B in {r['seconds']} s; disk {disks[-1]:.0f} B/s",
                  file=sys.stderr)
        t0 = time.perf_counter()
        rest = _restore(repo, work / "r-full", "--backup", fulls[-1]["backup"])
        rto_restore = time.perf_counter() - t0
        print(f"restore {rto_restore:.2f} s", file=sys.stderr)
        rto = rto_restore + serve_time(work / "rc", work / "r-full")
        print(f"rto {rto:.2f} s", file=sys.stderr)

        # PITR replay: a small base, then --records puts through the archive
        small = Cluster(work / "p", 1, args=ARGS)
        try:
            small.start_all()
            small.leader()
            r = small.request("n1", {"op": "backup", "kind": "full"}, timeout=60)
            assert r and r["ok"], r
            t0 = time.perf_counter()
            _puts(small, a.records)
            put_rate = a.records / (time.perf_counter() - t0)
            last = small.request("n1", {"op": "archive_flush"})["archived_lsn"]
        finally:
            small.close()
        replays = []
        for i in range(a.repeat):
            out = _restore(work / "p" / "n1-backups", work / f"r-pitr{i}", "--to-lsn", str(last))
            replays.append(out["archive_records"] / out["seconds"])
    finally:
        c.close()
        shutil.rmtree(work, ignore_errors=True)
    med = statistics.median
    full_rate, disk, ver, h = (med([r["bytes_per_s"] for r in fulls]), med(disks),
                               med(verifies), med(hashes))
    mib = 1 << 20
    print(f"""
`python bench/backup.py --size {a.size // mib}MiB --repeat {a.repeat} --records {a.records}`
(store: {a.size // mib} MiB of values, {fulls[0]['bytes'] / mib:.1f} MiB full-backup content,
loaded in {load_s:.2f} s; medians of {a.repeat}; machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)

| measure | value | same run's ceiling | ratio |
|---|---|---|---|
| full backup (copy at a cut, dump, write + fsync 4 MiB chunks) | {full_rate / mib:.0f} MiB/s | disk write + fsync {disk / mib:.0f} MiB/s | {full_rate / disk:.2f} |
| node verify (re-hash chunks from disk) | {ver / mib:.0f} MiB/s | in-memory BLAKE3, 1 thread {h / mib:.0f} MiB/s | {ver / h:.2f} |
| PITR replay (offline restore, archive records) | {med(replays):,.0f} records/s | ({a.records} puts written at {put_rate:,.0f}/s by 8 clients) | |
| restore of the {a.size // mib} MiB store (offline command) | {rto_restore:.2f} s | | |
| RTO: restore start to a node serving a read | {rto:.2f} s | seed SLA 60 s | |
""")
    print("full backup runs (MiB/s):", [round(r["bytes_per_s"] / mib) for r in fulls],
          "disk ceiling runs (MiB/s):", [round(d / mib) for d in disks],
          "per-run ratios:", [round(r["bytes_per_s"] / d, 2) for r, d in zip(fulls, disks)],
          "restored lsn", rest["restored_lsn"])


if __name__ == "__main__":
    main()
