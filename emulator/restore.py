"""Offline restore and verify of a backup repository (layer: emulator shell):

    python -m emulator restore --repo DIR --data NEWDIR
        (--latest | --to-lsn N [--exclusive] | --to-time T | --backup ID) [--backup ID] [--bug B]
    python -m emulator verify --repo DIR [--backup ID]

Restore picks a base (a backup's chain: a full backup and the incrementals down to
it, parent links contiguous) and replays archived records after the base's end up
to the target; of the bases that can reach the target it takes the one with the
greatest end LSN, and falls back to the next one if a chunk or segment it needs is
corrupt (the output lists what was skipped). The target is an LSN (inclusive; with
--exclusive, the records before N), a time (every record whose `ts` is <= T: the log
prefix up to the last such record; T must lie between the base's `end_ts` and the
last archived `ts`), the latest archived record, or with --backup alone that
backup's end LSN. NEWDIR must be new or empty; it receives snapshot.bin and wal.log
at the restored LSN, and a node started on it (any --id, e.g. a single-node
--peers of itself) serves the restored state.

Output: one JSON line on stdout. Exit 0 restored (or verify found no fault); 1 a
definite refusal (`error`: target_out_of_range or backup_corrupt; verify: faults
found, listed in `bad`); 254 bad arguments (one line on stderr).

Planted bug `pitr-off-by-one` (--bug, or recorded in REPO/repo.json by the node that
wrote the repository): one record past the target is applied when the archive has it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import repo as R
from . import snapshot as snapfile
from .backup import verify_repo
from .errors import EXIT_BAD_START, NodeError, StartupError
from .options import BACKUP_BUGS, REGION_BUGS
from .raft._types import HardState, Snapshot
from .statemachine import KV, state_digest
from .wal import Wal


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise StartupError(f"bad arguments: {message}; see python -m emulator {self.prog} --help")


def _parsers() -> tuple[_Parser, _Parser]:
    r = _Parser(prog="restore", description="restore a backup repository into a new data dir")
    r.add_argument("--repo", required=True)
    r.add_argument("--data", required=True, help="new or empty data directory")
    to = r.add_mutually_exclusive_group()
    to.add_argument("--latest", action="store_true")
    to.add_argument("--to-lsn", type=int)
    to.add_argument("--to-time", type=float, help="wall-clock seconds (the nodes' clock)")
    r.add_argument("--exclusive", action="store_true", help="with --to-lsn: stop before N")
    r.add_argument("--backup", help="restore from this backup's chain")
    r.add_argument("--bug", action="append", default=[], choices=BACKUP_BUGS)
    v = _Parser(prog="verify", description="re-hash every manifest, chunk and segment")
    v.add_argument("--repo", required=True)
    v.add_argument("--backup")
    v.add_argument("--bug", action="append", default=[], choices=REGION_BUGS)
    return r, v


def main(argv: list[str]) -> int:
    try:
        restore_p, verify_p = _parsers()
        if argv[0] == "verify":
            a = verify_p.parse_args(argv[1:])
            _check_repo(a.repo)
            return _verify(a)
        a = restore_p.parse_args(argv[1:])
        _check_args(a)
    except StartupError as e:
        print(f"emulator {argv[0]}: {e}", file=sys.stderr)
        return EXIT_BAD_START
    try:
        out = restore(a.repo, a.data, _target(a), a.backup, set(a.bug) | _repo_bugs(a.repo))
    except NodeError as e:
        print(json.dumps(e.reply()))
        return 1
    print(json.dumps({"ok": True, **out}))
    return 0


def _check_repo(repo: str) -> None:
    if not os.path.isdir(repo):
        raise StartupError(f"--repo {repo!r} is not a directory; name a backup repository")


def _check_args(a) -> None:
    _check_repo(a.repo)
    if a.latest + (a.to_lsn is not None) + (a.to_time is not None) == 0 and not a.backup:
        raise StartupError("no target: give --latest, --to-lsn N, --to-time T or --backup ID")
    if a.exclusive and a.to_lsn is None:
        raise StartupError("--exclusive applies to --to-lsn only")
    if a.to_lsn is not None and a.to_lsn < 0:
        raise StartupError(f"--to-lsn {a.to_lsn} must be >= 0")
    if os.path.exists(a.data) and (not os.path.isdir(a.data) or os.listdir(a.data)):
        raise StartupError(f"--data {a.data!r} is not empty; restore into a new data directory")


def _target(a) -> dict:
    if a.to_lsn is not None:
        return {"kind": "lsn", "lsn": a.to_lsn, "exclusive": a.exclusive}
    if a.to_time is not None:
        return {"kind": "time", "time": a.to_time}
    return {"kind": "latest"} if a.latest else {"kind": "backup"}


def _repo_bugs(repo: str, known=BACKUP_BUGS) -> set[str]:
    try:
        with open(os.path.join(repo, R.REPO_FILE)) as f:
            return set(json.load(f).get("bugs", ())) & set(known)
    except (OSError, ValueError):
        return set()


def _verify(a) -> int:
    started = time.monotonic()
    result = verify_repo(a.repo, a.backup, "verify-skip-manifest-checksum" in
                         set(a.bug) | _repo_bugs(a.repo, REGION_BUGS))
    if result is None:
        print(json.dumps(NodeError("backup_not_found", f"no backup {a.backup!r} in "
                                   f"{a.repo}").reply()))
        return 1
    elapsed = time.monotonic() - started
    print(json.dumps({"ok": True, **result, "seconds": round(elapsed, 6)}))
    return 0 if result["valid"] else 1


# ---- planning -------------------------------------------------------------------------


def chains(manifests: dict[str, dict]) -> dict[str, list[dict]]:
    """{backup id: its chain, full backup first} for every backup whose chain is intact
    (each parent present, each incremental starting right after its parent's end)."""
    out: dict[str, list[dict]] = {}
    for bid, m in manifests.items():
        chain, cur = [m], m
        while cur["kind"] == "incremental":
            parent = manifests.get(cur["parent"])
            if parent is None or cur["start_lsn"] != parent["end_lsn"] + 1 or len(chain) > 100000:
                chain = None
                break
            chain.append(parent)
            cur = parent
        if chain is not None and cur["kind"] == "full":
            out[bid] = chain[::-1]
    return out


def archive_runs(segs: list[dict]) -> list[list[dict]]:
    """Segments grouped into runs of contiguous LSNs."""
    runs: list[list[dict]] = []
    for m in segs:
        if runs and m["first_lsn"] <= runs[-1][-1]["last_lsn"] + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    return runs


def reach(end: int, runs: list[list[dict]]) -> tuple[int, list[dict]]:
    """(last LSN the archive reaches contiguously after `end`, the segments on the way)."""
    for run in runs:
        if run[0]["first_lsn"] <= end + 1 <= run[-1]["last_lsn"]:
            return run[-1]["last_lsn"], [m for m in run if m["last_lsn"] > end]
    return end, []


def _ts_range(end_ts, segs: list[dict]) -> list:
    last = [m["last_ts"] for m in segs if m["last_ts"] is not None]
    return [end_ts or 0.0, last[-1] if last else end_ts or 0.0]


def plan(repo: str, backup: str | None) -> tuple[list[dict], dict]:
    """Candidate bases [{chain, end, end_ts, reach, segs}] and the restorable ranges."""
    manifests, _ = R.load_backups(repo)
    segs, _ = R.load_segments(repo)
    runs = archive_runs(segs)
    all_chains = chains(manifests)
    if backup is not None:
        if backup not in manifests:
            code = "backup_corrupt" if backup in R.backup_ids(repo) else "backup_not_found"
            raise NodeError(code, f"backup {backup!r}: no valid manifest in {repo}")
        if backup not in all_chains:
            raise NodeError("backup_corrupt", f"backup {backup!r}: its chain is broken (a "
                            f"parent is missing, invalid or not contiguous)")
        all_chains = {backup: all_chains[backup]}
    bases = []
    for bid, chain in all_chains.items():
        end = chain[-1]["end_lsn"]
        upto, on_way = reach(end, runs)
        bases.append({"id": bid, "chain": chain, "end": end, "end_ts": chain[-1]["end_ts"],
                      "reach": upto, "segs": on_way, "ts": _ts_range(chain[-1]["end_ts"], on_way)})
    bases.sort(key=lambda b: (-b["end"], b["id"]))
    ranges = {"lsn": [min((b["end"] for b in bases), default=None),
                      max((b["reach"] for b in bases), default=None)],
              "time": [min((b["ts"][0] for b in bases), default=None),
                       max((b["ts"][1] for b in bases), default=None)]}
    return bases, ranges


def _fits(base: dict, target: dict) -> bool:
    if target["kind"] == "time":
        return base["ts"][0] <= target["time"] <= base["ts"][1]
    return base["end"] <= target["lsn"] <= base["reach"]


def _resolve(target: dict, bases: list[dict]) -> dict:
    """The target with `lsn` filled in for latest / backup."""
    if target["kind"] == "latest":
        return {**target, "lsn": max((b["reach"] for b in bases), default=-1)}
    if target["kind"] == "backup":
        return {**target, "lsn": bases[0]["end"] if bases else -1}
    if target["kind"] == "lsn" and target["exclusive"]:
        return {**target, "lsn": target["lsn"] - 1}
    return target


# ---- replay ---------------------------------------------------------------------------


def restore(repo: str, data: str, target: dict, backup: str | None, bugs: set[str]) -> dict:
    """Restore into `data`; the output fields (see docs/protocol.md). NodeError if refused."""
    started = time.monotonic()
    bases, ranges = plan(repo, backup)
    target = _resolve(target, bases)
    fitting = [b for b in bases if _fits(b, target)]
    if not fitting:
        raise NodeError("target_out_of_range", f"target {_describe(target)} is outside what "
                        f"{repo} can restore: LSN {ranges['lsn']}, time {ranges['time']}",
                        restorable=ranges)
    skipped = []
    for base in fitting:
        try:
            content, out = _replay(repo, base, target, bugs)
            break
        except ValueError as e:
            skipped.append({"base": base["id"], "reason": str(e)})
    else:
        raise NodeError("backup_corrupt", "; ".join(s["reason"] for s in skipped),
                        skipped=skipped, restorable=ranges)
    _write_data_dir(data, out["restored_lsn"], out["term"], content)
    return {**out, "digest": state_digest(content), "target": target,
            "restorable": ranges, "skipped": skipped, "data": os.path.abspath(data),
            "seconds": round(time.monotonic() - started, 6)}


def _replay(repo: str, base: dict, target: dict, bugs: set[str]) -> tuple[bytes, dict]:
    """(the restored state machine dump, output fields); ValueError if data is damaged."""
    chain = base["chain"]
    content = R.read_content(repo, chain[0])
    increments = []
    for m in chain[1:]:
        increments.append(R.parse_records(R.read_content(repo, m)))
        _check_contiguous(increments[-1], m["start_lsn"], m["end_lsn"], f"incremental {m['id']}")
    records = []
    for seg in base["segs"]:
        records += [r for r in R.read_segment(repo, seg) if r["lsn"] > base["end"]]
    _check_contiguous(records, base["end"] + 1, base["reach"], "the archive")
    stop = _stop(records, target)
    if "pitr-off-by-one" in bugs and stop < len(records):
        stop += 1
    replay = [r for inc in increments for r in inc] + records[:stop]
    if replay:  # a full backup restored as it is needs no parsing
        kv = KV()
        kv.load(content)
        _apply(kv, replay)
        content = kv.dump()
    last = {"lsn": base["end"], "term": chain[-1]["term"], "ts": base["end_ts"]}
    if stop:
        r = records[stop - 1]
        stamps = [x["ts"] for x in records[:stop] if x["ts"] is not None]
        last = {"lsn": r["lsn"], "term": r["term"], "ts": stamps[-1] if stamps else last["ts"]}
    return content, {"restored_lsn": last["lsn"], "term": last["term"],
                     "restored_ts": last["ts"], "base": chain[0]["id"],
                     "chain": [m["id"] for m in chain], "records_replayed": len(replay),
                     "archive_records": stop}


def _stop(records: list[dict], target: dict) -> int:
    """How many of `records` (ascending, after the base) the target includes."""
    if target["kind"] == "time":
        for i, r in enumerate(records):
            if r["ts"] is not None and r["ts"] > target["time"]:
                return i
        return len(records)
    return sum(1 for r in records if r["lsn"] <= target["lsn"])


def _check_contiguous(records: list[dict], first: int, last: int, what: str) -> None:
    for want, r in zip(range(first, last + 1), records):
        if r["lsn"] != want:
            raise ValueError(f"{what} lacks record {want} (found {r['lsn']} in its place)")
    if len(records) != last - first + 1:
        raise ValueError(f"{what} holds {len(records)} records for LSN {first}..{last}")


def _apply(kv: KV, records: list[dict]) -> int:
    for r in records:
        if r["cmd"] is not None:
            try:
                kv.apply(r["cmd"])
            except NodeError:
                pass  # a failed cas/append was a no-op on every replica too
    return len(records)


def _write_data_dir(data: str, index: int, term: int, content: bytes) -> None:
    """snapshot.bin and wal.log of a node that has applied up to `index` (`content`: the
    state machine dump)."""
    os.makedirs(data, exist_ok=True)
    snap = Snapshot(index=index, term=term, data=content)
    snapfile.save(data, snap)
    wal = Wal(data)
    wal.append([], HardState(term=term, voted_for=None, commit=index), snapshot=snap)
    wal.close()


def _describe(target: dict) -> str:
    if target["kind"] == "time":
        return f"time {target['time']}"
    return f"LSN {target['lsn']}" + (" (exclusive target minus one)" if target.get("exclusive")
                                     else "")
