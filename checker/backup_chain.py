"""Backup chain checker: what the harness's own verifier read, judged (layer: checker).

Inputs are history ops of the backup workload (workloads/backup.py): f "backup"
(the node's reply: id, kind, parent, LSN range) and f "verify" (what
harness/backup_verify.py found reading the repository itself: the manifest's
fields, bad chunks, the LSNs the incremental content really holds, bytes hashed).
Findings, each naming the backup:
- an acknowledged backup the harness never verified, or whose verification failed;
- a manifest checksum or chunk (size, BLAKE3) that does not match;
- a manifest that disagrees with what the backup op acknowledged;
- a chain link whose parent is missing or unverified, a full backup not starting at
  LSN 1, an incremental not starting right after its parent's end (gap or overlap),
  an end before its start (LSN ranges must strictly increase along a chain; the one
  empty range allowed is a full backup of the empty state, LSN 1..0: a node that has
  applied nothing yet, e.g. just restarted, cuts a consistent state at LSN 0);
- incremental content that does not hold exactly the records start..end in order.
Refused backups (`fail`, e.g. backup_busy under the concurrency contract) are
counted, not findings. The longest chain's incrementals are compared with
ctx.thresholds["chain_incrementals"] (a minimum), when the case sets it.
Throughput is reported, never judged unless the case sets a bar: bytes the
harness verified divided by the harness-timed backup seconds, next to the same
run's ceilings (the repository node's disk write with fsync and BLAKE3 in memory).
"""

from __future__ import annotations

import statistics

from checker._api import Checker, RunContext
from checker._history import parse_events
from checker.runlog import client_events

SLA_METRICS = ("chain_incrementals", "full_backup_gb_per_s", "incremental_gb_per_s",
               "verification_gb_per_s")
GB = 1e9
AGREE = ("kind", "parent", "start_lsn", "end_lsn")


def check(history: list, ctx: RunContext) -> dict:
    cev = client_events(history)
    ops = parse_events(cev).ops if cev else []
    backups = [o for o in ops if o.f == "backup"]
    taken = {o.value["backup"]: o for o in backups if o.type == "ok"
             and isinstance(o.value, dict) and o.value.get("backup")}
    verified, errors, unknown, undecided = {}, [], [], set()
    for o in ops:
        if o.f != "verify":
            continue
        bid = (o.invoke_value or {}).get("backup")
        if o.type == "ok" and isinstance(o.value, dict):
            verified[bid] = o.value
        else:
            undecided.add(bid)
            unknown.append(f"verification of backup {bid} did not complete: {o.extra.get('error')}")
    for bid, o in taken.items():
        if bid not in undecided:
            errors += backup_errors(bid, o.value, verified.get(bid))
    errors += chain_errors(verified, undecided)
    archives = {(o.invoke_value or {}).get("node"): o.value for o in ops
                if o.f == "verify_archive" and o.type == "ok" and isinstance(o.value, dict)}
    found, gaps = _archives(archives)
    errors += found
    chains = chain_lengths(verified)
    longest = max(chains.values(), default=0)
    figures = throughput(backups, verified, ops)
    slas = [_minimum("chain_incrementals", longest, ctx.thresholds.get("chain_incrementals"))]
    slas += [_minimum(m, figures.get(m), ctx.thresholds.get(m)) for m in SLA_METRICS[1:]]
    refused = [o for o in backups if o.type == "fail"]
    valid = False if errors or any(s["pass"] is False for s in slas) else \
        ("unknown" if unknown or not taken else True)
    summary = (f"{len(taken)} backup(s) verified by the harness, {len(refused)} refused "
               f"({_codes(refused)}), longest chain {longest} incremental(s)")
    if errors:
        summary = f"{len(errors)} finding(s): {errors[0]}"
    elif not taken:
        summary = "no acknowledged backup in the history: nothing to judge"
    lines = [f"    {'✓' if not errors else '✗'} {summary}"]
    if archives:
        segs = sum(len(a.get("segments") or []) for a in archives.values())
        lines.append(f"    - WAL archive: {segs} segment(s) on {len(archives)} node(s) re-hashed "
                     f"by the harness, {gaps} gap(s) (allowed only where a node installed a "
                     "snapshot)")
    lines += [f"    {_mark(s)} {_sla_text(s)}" + _versus(s["name"], figures) for s in slas]
    return {"valid": valid, "summary": summary, "errors": errors + unknown, "slas": slas,
            "chains": chains, "figures": figures, "refused": len(refused),
            "verified": len(verified), "lines": lines}


def backup_errors(bid, reply: dict, v: dict | None) -> list[str]:
    """One acknowledged backup against the harness's own reading of it."""
    if v is None:
        return [f"backup {bid}: acknowledged but never verified by the harness"]
    out = [f"backup {bid}: {b.get('chunk')}: {b.get('reason')}" for b in v.get("bad") or []]
    m = v.get("manifest")
    if m is None:
        return out or [f"backup {bid}: no readable manifest"]
    for k in AGREE:
        if k in reply and reply.get(k) != m.get(k):
            out.append(f"backup {bid}: the node acknowledged {k}={reply.get(k)!r} but the "
                       f"manifest says {m.get(k)!r}")
    rec = v.get("records")
    if m.get("kind") == "incremental" and rec is not None:
        out += _records_errors(bid, m, rec)
    if m.get("kind") == "full" and v.get("digest") and m.get("digest") and \
            v["digest"] != m["digest"]:
        out.append(f"backup {bid}: content digest {v['digest']} differs from the manifest's "
                   f"{m['digest']}")
    return out


def _records_errors(bid, m, rec) -> list[str]:
    start, end = m.get("start_lsn"), m.get("end_lsn")
    if rec.get("missing"):
        return [f"backup {bid}: claims LSN {start}..{end} but its content lacks record(s) "
                f"{rec['missing']} (holds {rec.get('count')} record(s), first "
                f"{rec.get('first')}, last {rec.get('last')})"]
    if rec.get("extra") or rec.get("garbage") or not rec.get("ordered") or \
            rec.get("count") != (end - start + 1 if isinstance(end, int) and
                                 isinstance(start, int) else None):
        return [f"backup {bid}: content records do not match LSN {start}..{end}: "
                f"{rec.get('count')} record(s), extra {rec.get('extra')}, "
                f"unparsable {rec.get('garbage')}, in order {rec.get('ordered')}"]
    return []


def _archives(archives: dict) -> tuple[list[str], int]:
    errors, gaps = [], 0
    for node, a in sorted(archives.items(), key=lambda kv: str(kv[0])):
        found, n = archive_errors(node, a)
        errors, gaps = errors + found, gaps + n
    return errors, gaps


def archive_errors(node, a: dict) -> tuple[list[str], int]:
    """(findings, gaps) of one node's archive as the harness read it: bad segments, records
    that are not exactly first..last, overlapping segments."""
    out = [f"archive of {node}: {b.get('segment')}: {b.get('reason')}" for b in a.get("bad") or []]
    segs = sorted((x for x in a.get("segments") or [] if isinstance(x.get("first_lsn"), int)),
                  key=lambda x: x["first_lsn"])
    gaps = 0
    for prev, cur in zip(segs, segs[1:]):
        if cur["first_lsn"] <= prev["last_lsn"]:
            out.append(f"archive of {node}: {cur['file']} overlaps {prev['file']}")
        elif cur["first_lsn"] > prev["last_lsn"] + 1:
            gaps += 1
    for x in segs:
        rec = x.get("lsns")
        if rec and (rec.get("missing") or rec.get("extra") or not rec.get("ordered")
                    or rec.get("count") != x["last_lsn"] - x["first_lsn"] + 1):
            out.append(f"archive of {node}: {x['file']} claims LSN {x['first_lsn']}.."
                       f"{x['last_lsn']} but holds {rec.get('count')} record(s), missing "
                       f"{rec.get('missing')}, extra {rec.get('extra')}")
    return out, gaps


def chain_errors(verified: dict, undecided=frozenset()) -> list[str]:
    """Parent links and LSN contiguity, from the manifests the harness read (a parent whose
    verification did not complete is not judged: the result is unknown, not a finding)."""
    out = []
    for bid, v in sorted(verified.items(), key=lambda kv: str(kv[0])):
        m = v.get("manifest") or {}
        start, end = m.get("start_lsn"), m.get("end_lsn")
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        if end < start and not (m.get("kind") == "full" and start == 1 and end == 0):
            out.append(f"backup {bid}: end LSN {end} before its start LSN {start}")
        if m.get("kind") == "full":
            if start != 1:
                out.append(f"backup {bid}: a full backup must start at LSN 1, starts at {start}")
            continue
        parent = (verified.get(m.get("parent")) or {}).get("manifest")
        if parent is None and m.get("parent") in undecided:
            continue
        if parent is None:
            out.append(f"backup {bid}: parent {m.get('parent')!r} is missing or was not "
                       "verified")
        elif start != parent.get("end_lsn", 0) + 1:
            gap = "gap" if start > parent["end_lsn"] + 1 else "overlap"
            out.append(f"backup {bid}: starts at LSN {start} but its parent "
                       f"{m.get('parent')} ends at {parent['end_lsn']} ({gap})")
    return out


def chain_lengths(verified: dict) -> dict:
    """{last backup id of each chain: its incrementals}, following parents to a full backup."""
    children = {(v.get("manifest") or {}).get("parent") for v in verified.values()}
    out = {}
    for bid, v in verified.items():
        if bid in children:
            continue
        n, cur, seen = 0, (v.get("manifest") or {}), set()
        while cur and cur.get("kind") == "incremental" and cur.get("id") not in seen:
            seen.add(cur.get("id"))
            n += 1
            cur = (verified.get(cur.get("parent")) or {}).get("manifest")
        if cur and cur.get("kind") == "full":
            out[bid] = n
    return out


def throughput(backups, verified, ops) -> dict:
    """Bytes the harness verified per harness-timed second, and the run's ceilings."""
    rates = {"full": [], "incremental": []}
    for o in backups:
        if o.type != "ok" or not isinstance(o.value, dict):
            continue
        v = verified.get(o.value.get("backup")) or {}
        secs = (o.complete_time - o.invoke_time) / 1e9
        if v.get("bytes_hashed") and secs > 0 and not v.get("bad"):
            rates.setdefault(o.value.get("kind"), []).append(v["bytes_hashed"] / secs)
    out = {}
    if rates["full"]:
        out["full_backup_gb_per_s"] = statistics.median(rates["full"]) / GB
    if rates["incremental"]:
        out["incremental_gb_per_s"] = statistics.median(rates["incremental"]) / GB
    hashed = sum(v.get("bytes_hashed") or 0 for v in verified.values())
    secs = sum(v.get("seconds") or 0 for v in verified.values())
    if hashed and secs:
        out["verification_gb_per_s"] = hashed / secs / GB
    for o in ops:
        if o.f == "ceiling" and o.type == "ok" and isinstance(o.value, dict):
            for name, key in CEILINGS.items():
                if isinstance(o.value.get(key), (int, float)):
                    out[name] = o.value[key] / GB
    return out


CEILINGS = {"ceiling_disk_write_gb_per_s": "disk_write_bytes_per_s",
            "ceiling_blake3_gb_per_s": "blake3_bytes_per_s",
            "ceiling_control_blake3_gb_per_s": "control_blake3_bytes_per_s"}
# metric -> (the same run's ceiling it is compared with, what that ceiling is, the seed's bar)
VERSUS = {"full_backup_gb_per_s": ("ceiling_disk_write_gb_per_s",
                                   "the node's disk write with fsync", "> 5 GB/s"),
          "incremental_gb_per_s": ("ceiling_disk_write_gb_per_s",
                                   "the node's disk write with fsync", "> 10 GB/s"),
          "verification_gb_per_s": ("ceiling_blake3_gb_per_s",
                                    "the node's BLAKE3 in memory (the harness hashes there)",
                                    "> 10 GB/s")}


def _versus(name, figures) -> str:
    """`, 0.41 of <ceiling> (X MB/s) this run; seed SLA > 5 GB/s` for a throughput metric."""
    if name not in VERSUS:
        return ""
    ceiling, what, seed = VERSUS[name]
    m, c = figures.get(name), figures.get(ceiling)
    ratio = f", {m / c:.2f} of {what} ({_rate(c)}) this run" if m and c else \
        f"; ceiling ({what}) not measured"
    return f"{ratio}; seed SLA {seed}"


def _minimum(name, measured, threshold) -> dict:
    ok = None if measured is None or threshold is None else measured >= threshold
    return {"name": name, "measured": measured, "threshold": threshold, "pass": ok}


def _mark(s) -> str:
    return "✓" if s["pass"] else "✗" if s["pass"] is False else "-"


def _sla_text(s) -> str:
    m, t = s["measured"], s["threshold"]
    val = "not measured" if m is None else (f"{m}" if isinstance(m, int) else _rate(m))
    bar = f" (at least {t:g})" if t is not None else " (reported, not judged by this case)"
    return f"{s['name']}: {val}{bar}"


def _rate(v) -> str:
    return f"{v * 1000:.2f} MB/s" if isinstance(v, float) else str(v)


def _codes(ops) -> str:
    codes = {}
    for o in ops:
        codes[o.extra.get("error")] = codes.get(o.extra.get("error"), 0) + 1
    return ", ".join(f"{k}: {n}" for k, n in sorted(codes.items(), key=str)) or "none"


CHECKER = Checker("backup-chain", "run", check,
                  "backups as the harness re-read them: hashes, parent links, LSN ranges")
