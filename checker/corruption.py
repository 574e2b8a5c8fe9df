"""Corruption of backup copies: every injection detected by both verifiers, repaired from a
good copy where one exists, refused where none does (layer: checker, pure).

Injections are the nemesis's backup-* fault events (their info value names the
copy's host `node`, the `backup` id, the `chunk` file and the `kind`). The
corruption workload (workloads/corruption.py) records, per copy:
`verify-intact` (before any injection), `detect-db` (the database's verify:
`bad` items {backup, chunk, reason}), `detect-harness` (the harness's own
reading: `bad` items {path, reason}), `repair`, `verify-after` (the harness's
reading of every copy after the repairs) and `restore-corrupt` (a restore of a
backup still damaged after repair).

A node's WAL (the nemesis's wal-bitflip: a committed record in the middle of the
file damaged so that only its checksum can tell, then the node killed and
started) is kind "wal". What the node did is the revival watcher's f "revive"
event with `expect: "refusal"` (harness/revival.py) and the status samples
(ctx.states). Judged: the node refused to start (its process exited) and its
log names the damaged file and offset: detected and refused, the correct
outcome; a node that answered after the restart started on a corrupted WAL (a
violation: it must refuse or repair from its peers), and a status digest of it
that differs from another node's at the same applied index is the corrupted
record served as data. The harness's own reading of every node's WAL (f
"detect-wal", workloads/corruption.py: `bad` items {offset, reason}) must name
the injected record's offset, and nothing else (a false alarm); without any
detect-wal in the history the harness's WAL detection is not judged (None).

Judged, per injection: detected by the database's verify AND by the harness,
each naming that backup and chunk; no finding on a copy that no injection
explains (a false alarm, visible because the copies verified intact first);
repaired iff some region copy of that backup had no injection (then the copy
verifies clean after repair), else still damaged and its restore refused with
`backup_corrupt` (that refusal is the correct outcome; restoring it is not).
"""

from __future__ import annotations

from checker._api import Checker, RunContext

KINDS = ("bitflip", "truncate", "delete", "misdirect", "manifest")
NS = 1e9
SETTLE_NS = int(1 * NS)   # a status sample this long after the restart is the new process's


def _ops(history, f):
    """{copy or None: (invoke, completion)} for f; completion None if missing."""
    inv, out = {}, {}
    for e in history:
        if e.get("f") != f or not isinstance(e.get("process"), int):
            continue
        if e["type"] == "invoke":
            inv[e["process"]] = e
        elif e["process"] in inv:
            out[e["process"]] = e
    return [(i, out.get(p)) for p, i in inv.items()]


def injections(history) -> list[dict]:
    """Every corruption the nemesis applied: {kind, copy, backup, chunk, time, ...}."""
    out = []
    for e in history:
        f = e.get("f") or ""
        v = e.get("value") or {}
        if e.get("process") == "nemesis" and e.get("type") == "info" and \
                f.startswith("backup-") and f[7:] in KINDS and "error" not in v:
            out.append({"kind": f[7:], "copy": v.get("node"), "backup": v.get("backup"),
                        "chunk": v.get("chunk"), "offset": v.get("offset"), "time": e["time"],
                        "fault": v.get("fault")})
    return out


def _per_copy(history, f) -> dict:
    found = {}
    for inv, done in _ops(history, f):
        if done is not None and done["type"] == "ok":
            found[(inv.get("value") or {}).get("copy")] = done.get("value") or {}
    return found


def _explains(inj, copy, backup, chunk) -> bool:
    return inj["copy"] == copy and inj["backup"] == backup and inj["chunk"] == chunk


def _db_items(found) -> list[tuple]:
    return [(b.get("backup"), b.get("chunk"), b.get("reason")) for b in found.get("bad", [])
            if "backup" in b]


def _harness_items(found) -> list[tuple]:
    out = []
    for b in found.get("bad", []):
        parts = str(b.get("path", "")).split("/")
        if len(parts) == 3 and parts[0] == "backups":
            out.append((parts[1], parts[2], b.get("reason")))
    return out


def _detection(injs, db, harness) -> tuple[list, dict]:
    errors, figures = [], {k: {"injected": 0, "detected_db": 0, "detected_harness": 0,
                               "repaired": 0, "refused": 0} for k in KINDS}
    for inj in injs:
        fig = figures[inj["kind"]]
        fig["injected"] += 1
        for who, items in (("db", _db_items(db.get(inj["copy"], {}))),
                           ("harness", _harness_items(harness.get(inj["copy"], {})))):
            if inj["copy"] not in (db if who == "db" else harness):
                errors.append(f"{inj['copy']}: no {who} verification recorded after the heal")
            elif any(_explains(inj, inj["copy"], b, c) for b, c, _ in items):
                fig[f"detected_{who}"] += 1
            else:
                errors.append(f"{'database' if who == 'db' else 'harness'} verify missed "
                              f"{inj['kind']} on {inj['copy']}: backup {inj['backup']}, "
                              f"{inj['chunk']}" + (f" at offset {inj['offset']}"
                                                   if inj["offset"] is not None else ""))
    for who, per in (("database", db), ("harness", harness)):
        for copy, found in per.items():
            items = _db_items(found) if who == "database" else _harness_items(found)
            for b, c, why in items:
                if not any(_explains(i, copy, b, c) for i in injs):
                    errors.append(f"false alarm: the {who} verify of {copy} reports {b} {c} "
                                  f"({why}) that no injection explains")
    return errors, figures


def _repairs(history, injs, figures) -> list:
    errors = []
    after = next((d.get("value") for _, d in _ops(history, "verify-after")
                  if d is not None and d["type"] == "ok"), None)
    if after is None:
        return ["no verification after the repairs was recorded"]
    refusals = {(i.get("value") or {}).get("target", {}).get("backup"): d
                for i, d in _ops(history, "restore-corrupt")}
    copies = set(after)
    for inj in injs:
        good = sorted(c for c in copies if c != inj["copy"] and c.startswith("r") and not any(
            i["copy"] == c and i["backup"] == inj["backup"] for i in injs))
        still = [b for b, _, _ in _harness_items(after.get(inj["copy"], {}))
                 if b == inj["backup"]]
        if good and not still:
            figures[inj["kind"]]["repaired"] += 1
        elif good:
            errors.append(f"not repaired: {inj['kind']} on {inj['copy']} (backup "
                          f"{inj['backup']}) is still damaged after repair although "
                          f"{', '.join(good)} held an intact copy")
        elif not still:
            errors.append(f"{inj['copy']}: backup {inj['backup']} verifies clean after repair "
                          f"although every region copy was corrupt")
        else:
            done = refusals.get(inj["backup"])
            if inj["copy"] not in copies or not inj["copy"].startswith("n"):
                figures[inj["kind"]]["refused"] += 1      # a region copy: nothing restores it
            elif done is None:
                errors.append(f"no restore of {inj['backup']} (every copy corrupt) was tried")
            elif done["type"] == "ok":
                errors.append(f"restored {inj['backup']} although every copy of it is corrupt: "
                              f"it must be refused (backup_corrupt)")
            elif done.get("error") == "backup_corrupt":
                figures[inj["kind"]]["refused"] += 1
            else:
                errors.append(f"restore of {inj['backup']} (every copy corrupt): expected a "
                              f"backup_corrupt refusal, got {done['type']} ({done.get('error')})")
    return errors


def _intact(history, injs) -> list:
    first = min((i["time"] for i in injs), default=None)
    done = [d for _, d in _ops(history, "verify-intact") if d is not None and d["type"] == "ok"]
    if not done:
        return ["the copies were not verified intact before the injections"]
    d = done[0]
    errors = []
    if first is not None and d["time"] > first:
        errors.append(f"the intact verification ended at {d['time'] / 1e9:.1f} s, after the "
                      f"first injection at {first / 1e9:.1f} s")
    for copy, found in (d.get("value") or {}).items():
        errors += [f"{copy} was not intact before any injection: {b['path']}: {b['reason']}"
                   for b in found.get("bad", [])]
    return errors


def wal_injections(history) -> list[dict]:
    """Every WAL corruption the nemesis applied: {node, path, offset, time, ...}."""
    return [{**e["value"], "time": e["time"]} for e in history
            if e.get("process") == "nemesis" and e.get("type") == "info" and
            e.get("f") == "wal-bitflip" and isinstance(e.get("value"), dict) and
            "error" not in e["value"]]


def refused_nodes(history) -> set[str]:
    """Nodes that refused to start after their WAL was corrupted (the revival watcher saw
    the process exit without answering): they hold no replica anyone can read, so a final
    read of them cannot exist; whether the refusal was right is this checker's verdict."""
    return {e["value"]["node"] for e in history if e.get("process") == "nemesis" and
            e.get("f") == "revive" and isinstance(e.get("value"), dict) and
            e["value"].get("expect") == "refusal" and e["value"].get("exited") and
            not e["value"].get("answered")}


def _wal_outcome(history, inj) -> dict | None:
    return next((e["value"] for e in history if e.get("process") == "nemesis" and
                 e.get("f") == "revive" and isinstance(e.get("value"), dict) and
                 e["value"].get("expect") == "refusal" and e["value"].get("node") == inj["node"]
                 and e["time"] >= inj["time"]), None)


def _served(states, inj) -> list[str]:
    """The node's status digests after the restart that differ from another node's at the
    same applied index: state rebuilt from the corrupted record, served."""
    others: dict = {}
    for s in states:
        if s.get("ok") and s.get("node") != inj["node"] and s.get("digest") is not None:
            others.setdefault(s.get("applied"), (s["digest"], s["node"]))
    for s in states:
        if s.get("ok") and s.get("node") == inj["node"] and s["time"] > inj["time"] and \
                s.get("applied") in others and s.get("digest") != others[s["applied"]][0]:
            digest, who = others[s["applied"]]
            return [f"{inj['node']} served state rebuilt from its corrupted WAL: digest "
                    f"{s.get('digest')} at applied index {s['applied']} where {who} reports "
                    f"{digest}" + _changed(inj)]
    return []


def _changed(inj) -> str:
    c = inj.get("changed") or {}
    return (f" (entry {c['index']}: {c['field']} of {c.get('key')} {c['before']!r} became "
            f"{c['after']!r})" if c.get("field") else "")


def _wal_harness(history, injs, fig) -> list[str]:
    """The harness's own WAL readings against the injections: each found, nothing else."""
    found = {}
    for inv, done in _ops(history, "detect-wal"):
        if done is not None and done["type"] == "ok":
            found[(inv.get("value") or {}).get("node")] = done.get("value") or {}
    if not found:
        return []
    errors, fig["detected_harness"] = [], 0
    for inj in injs:
        offsets = [b.get("offset") for b in found.get(inj["node"], {}).get("bad", [])]
        if inj["node"] not in found:
            errors.append(f"{inj['node']}: no harness reading of its WAL was recorded")
        elif inj.get("offset") in offsets:
            fig["detected_harness"] += 1
        else:
            errors.append(f"harness WAL verify missed the corrupted record of {inj['node']}: "
                          f"{inj.get('path')} at offset {inj.get('offset')}")
    for node, out in sorted(found.items(), key=lambda kv: str(kv[0])):
        for b in out.get("bad", []):
            if not any(i["node"] == node and i.get("offset") == b.get("offset") for i in injs):
                errors.append(f"false alarm: the harness's WAL verify of {node} reports offset "
                              f"{b.get('offset')} ({b.get('reason')}) that no injection explains")
    return errors


def _wal(history, states) -> tuple[list, dict | None]:
    injs = wal_injections(history)
    if not injs:
        return [], None
    fig = {"injected": len(injs), "detected_db": 0, "detected_harness": None, "repaired": 0,
           "refused": 0}
    errors = _wal_harness(history, injs, fig)
    for inj in injs:
        where = (f"{inj.get('path')} at offset {inj.get('offset')} (record {inj.get('record')} "
                 f"of {inj.get('records')}, entries {inj.get('entries')}, committed)")
        out = _wal_outcome(history, inj) or {}
        answered = out.get("answered") or any(
            s.get("ok") and s.get("node") == inj["node"] and
            s["time"] > inj["time"] + SETTLE_NS for s in states)
        if answered:
            errors.append(f"{inj['node']} started on a corrupted WAL and answered: {where}; "
                          f"it must refuse to start or repair from its peers")
            errors += _served(states, inj)
        elif not out:
            errors.append(f"no record of what {inj['node']} did after its WAL was corrupted "
                          f"({where}) and it was restarted")
        elif not out.get("exited"):
            errors.append(f"{inj['node']} neither refused nor answered within "
                          f"{out.get('bound_s')} s of its restart on a corrupted WAL ({where})")
        elif f"WAL corrupt: {inj.get('path')} at offset {inj.get('offset')}:" not in \
                str(out.get("log_tail")):
            last = [x for x in str(out.get("log_tail") or "").splitlines() if x.strip()]
            errors.append(f"{inj['node']} exited after its restart but did not name the "
                          f"corrupted record ({where}); last log line: "
                          f"{last[-1][:200] if last else '(none)'}")
        else:
            fig["detected_db"] += 1
            fig["refused"] += 1
    return errors, fig


def check(history: list, ctx: RunContext) -> dict:
    injs = injections(history)
    wal_errors, wal = _wal(history, list(ctx.states))
    if not injs and wal is None:
        return {"valid": "unknown", "summary": "no corruption was injected", "errors": []}
    db, harness = _per_copy(history, "detect-db"), _per_copy(history, "detect-harness")
    errors = _intact(history, injs) if injs else []
    found, figures = _detection(injs, db, harness)
    errors += found + (_repairs(history, injs, figures) if injs else []) + wal_errors
    k = sum(f["injected"] for f in figures.values())
    dd = sum(f["detected_db"] for f in figures.values())
    dh = sum(f["detected_harness"] for f in figures.values())
    rep = sum(f["repaired"] for f in figures.values())
    ref = sum(f["refused"] for f in figures.values())
    summary = (f"{k} injections: detected {dd}/{k} by the database, {dh}/{k} by the harness; "
               f"{rep} repaired from a good copy, {ref} refused (every copy corrupt)")
    if wal is not None:
        summary += (f"; {wal['injected']} WAL corruption(s): {wal['detected_db']} detected by "
                    f"the node on restart and refused, {wal['detected_harness']} by the "
                    f"harness's own WAL reading")
        figures["wal"] = wal
    if errors:
        summary = f"{len(errors)} violation(s): {errors[0]}"
    return {"valid": not errors, "summary": summary, "errors": errors,
            "per_kind": {k_: f for k_, f in figures.items() if f["injected"]},
            "injections": injs, "wal_injections": wal_injections(history),
            "throughput": throughput(history)}


def throughput(history) -> dict:
    """Bytes per second of the harness's verification (hashed on the control node), the
    database's verify and repair, next to the same run's machine ceilings (reported, not
    judged: the seed's > 10 GB/s verification and > 1 GB/s repair exceed this machine)."""
    def rate(f, nbytes, secs):
        done = [d.get("value") or {} for _, d in _ops(history, f)
                if d is not None and d["type"] == "ok"]
        b = sum(v.get(nbytes) or 0 for v in done)
        s = sum(v.get(secs) or 0 for v in done)
        return {"bytes": b, "seconds": round(s, 6), "bytes_per_s": round(b / s) if s else None}
    ceil = next((d.get("value") for _, d in _ops(history, "ceiling")
                 if d is not None and d["type"] == "ok"), None) or {}
    return {"harness_verify": rate("detect-harness", "bytes_hashed", "seconds"),
            "db_verify": rate("detect-db", "bytes", "seconds"),
            "repair": rate("repair", "bytes", "seconds"),
            "ceilings": {k: ceil.get(k) for k in ("disk_write_bytes_per_s", "blake3_bytes_per_s",
                                                   "control_blake3_bytes_per_s")}}


CHECKER = Checker("corruption", "run", check,
                  "every corruption detected by both verifiers, repaired from a good copy or "
                  "refused")
