"""Restore checker: every restore judged against the history (layer: checker).

The restore ops (f "restore", workloads/backup.py) carry the target and, on ok,
the restored node's `values` (every key outside the load prefix, as it served
them), `restored_lsn`, the harness's `digest` of the restored snapshot and `rto_s`.
The history's writes are the oracle: register `write`/`cas` and set `add` ops of
any workload, with the `lsn` an ok write was committed at.

Restore to LSN L (inclusive; exclusive N means L = N - 1; a backup's own end LSN;
the latest): each key's restored value must be the value of the last acknowledged
write with lsn <= L, or of an indeterminate (info) write that may have committed at
a position <= L: one invoked before the first acknowledgement of a write with
lsn >= L (a later invoke lands at a higher index). No write with lsn > L may be
visible; a set holds exactly its acknowledged adds with lsn <= L in LSN order plus
possibly such indeterminate adds. `restored_lsn` must be L.
Restore to time T (node clock, `time_ns` on the run clock): judged as a restore to
its `restored_lsn`, which must cover every write acknowledged before T and no write
invoked after T (TIME_SLACK_NS allowed for the clock mapping).
Latest: every write acknowledged before the restore was asked for is present (RPO 0).
Digests: where a live node reported its digest at exactly the restored LSN
(ctx.states) or a full backup verified by the harness ends there, the restored
digest must equal it.
A target marked `out_of_range` must be refused (target_out_of_range); any other
refusal or failure of a restore is a finding. Each finding names the key, the
expected and found values, and the write that explains the difference.
PITR RTO: the worst `rto_s` of the restores (request to the restored node serving a
read) against ctx.thresholds["pitr_rto_s"].
"""

from __future__ import annotations

import statistics

from checker._api import Checker, RunContext
from checker._history import parse_events
from checker.runlog import client_events

WRITES = ("write", "cas", "add")
TIME_SLACK_NS = 5_000_000
MAX_ERRORS_PER_RESTORE = 5
SLA_METRICS = ("pitr_rto_s",)


def check(history: list, ctx: RunContext) -> dict:
    cev = client_events(history)
    ops = [op for op in parse_events(cev).ops] if cev else []
    oracle = Oracle([o for o in ops if o.f in WRITES and o.process != "final"])
    restores = [o for o in ops if o.f == "restore"]
    live = _live_digests(ctx.states, ops)
    verified = {o.value.get("backup"): o.value for o in ops if o.f == "verify"
                and o.type == "ok" and isinstance(o.value, dict)}
    results, errors = [], []
    for op in restores:
        found = judge(op, oracle, live, verified)
        results.append({"target": (op.invoke_value or {}).get("target"), "type": op.type,
                        "copy": (op.invoke_value or {}).get("copy"),   # a region's copy, or None
                        "restored_lsn": (op.value or {}).get("restored_lsn")
                        if op.type == "ok" else None, "errors": found})
        errors += found[:MAX_ERRORS_PER_RESTORE]
    contents = _content_errors(verified, oracle, live)
    errors += contents
    rto = [op.value.get("rto_s") for op in restores if op.type == "ok"
           and isinstance(op.value, dict) and isinstance(op.value.get("rto_s"), (int, float))]
    sla = _rto_line(rto, ctx.thresholds.get("pitr_rto_s"))
    if not restores:
        valid = "unknown"
        summary = "no restore in the history: nothing to judge"
    else:
        valid = not errors and sla["pass"] is not False
        if "pitr_rto_s" in ctx.required and sla["measured"] is None and valid:
            valid = "unknown"
        ok = sum(1 for r in results if not r["errors"])
        summary = (f"{ok}/{len(results)} restore(s) exact to the operation"
                   f" ({oracle.count} writes as oracle); " + _sla_text(sla))
        if errors:
            summary = f"{len(results) - ok} wrong restore(s): {errors[0]}"
    fulls = sum(1 for v in verified.values() if v.get("values") is not None)
    return {"valid": valid, "summary": summary, "errors": errors, "restores": results,
            "slas": [sla], "lines": _lines(results, fulls, contents, sla, errors)}


def _lines(results, fulls, contents, sla, errors) -> list[str]:
    """The report lines: one per restore, the full backups' contents, RTO and RPO."""
    lines = [f"    {'✓' if not r['errors'] else '✗'} {_target_text(r['target'])}: "
             f"{r['type']}" + (f" at LSN {r['restored_lsn']}" if r["restored_lsn"] else "")
             + (f" — {r['errors'][0]}" if r["errors"] else "") for r in results]
    if fulls:
        lines.append(f"    {'✓' if not contents else '✗'} {fulls} full backup content(s) "
                     "judged as the state at their end LSN"
                     + (f" — {contents[0]}" if contents else ""))
    lines.append(f"    {'✓' if sla['pass'] else '✗' if sla['pass'] is False else '-'} "
                 f"{_sla_text(sla)}")
    lines.append(f"    {'✓' if not errors else '✗'} PITR RPO: "
                 + ("0 s (no acknowledged write missing from any restore)" if not errors
                    else "see the findings above"))
    return lines


class Oracle:
    """Per key: acknowledged writes by LSN, indeterminate writes, and who wrote what."""

    def __init__(self, writes):
        self.count = len(writes)
        self.acked = sorted((o for o in writes if o.type == "ok"
                             and isinstance(o.extra.get("lsn"), int)), key=_lsn)
        self.maybe = [o for o in writes if o.type == "info"]
        self.keys = {o.key for o in self.acked} | {o.key for o in self.maybe}
        self.by_key: dict = {}
        for o in self.acked:
            self.by_key.setdefault(o.key, []).append(o)
        self.sets = {o.key for o in writes if o.f == "add"}

    def first_ack_at_or_after(self, lsn: int):
        """Earliest completion time of an acknowledged write with lsn >= `lsn`."""
        times = [o.complete_time for o in self.acked if _lsn(o) >= lsn]
        return min(times) if times else None

    def possible_before(self, op, lsn: int, cutoff) -> bool:
        """May indeterminate `op` have committed at a position <= lsn?"""
        return cutoff is None or op.invoke_time < cutoff

    def expected(self, key, lsn: int, cutoff):
        """(last acked write <= lsn or None, [indeterminate writes possibly <= lsn])."""
        done = [o for o in self.by_key.get(key, ()) if _lsn(o) <= lsn]
        maybe = [o for o in self.maybe if o.key == key and self.possible_before(o, lsn, cutoff)]
        return (done[-1] if done else None), maybe, done


def _content_errors(verified: dict, oracle: "Oracle", live: dict) -> list[str]:
    """A full backup's content (as the harness read it) is the state at its end LSN."""
    errors = []
    for bid, v in sorted(verified.items(), key=lambda kv: str(kv[0])):
        m = v.get("manifest") or {}
        if v.get("values") is None or not isinstance(m.get("end_lsn"), int):
            continue
        what = f"full backup {bid} (content at end LSN {m['end_lsn']})"
        found = state_errors(v["values"], m["end_lsn"], oracle, what)
        errors += found[:2]
    return errors


def judge(op, oracle: Oracle, live: dict, verified: dict | None = None) -> list[str]:
    """The findings of one restore op (empty: exact)."""
    req = op.invoke_value or {}
    target = req.get("target") or {}
    desc = _target_text(target)
    if req.get("out_of_range"):
        if op.type == "ok":
            return [f"restore to {desc}: restored (LSN {op.value.get('restored_lsn')}) a target "
                    "outside every restorable range; it must be refused"]
        if op.type == "fail" and op.extra.get("error") == "target_out_of_range":
            return []
        return [f"restore to {desc}: expected a target_out_of_range refusal, got {op.type} "
                f"({op.extra.get('error')})"]
    if op.type != "ok":
        return [f"restore to {desc} on {req.get('node')}: {op.type} ({op.extra.get('error')}): "
                f"{_message(op)}"]
    out = op.value if isinstance(op.value, dict) else {}
    restored = out.get("restored_lsn")
    if not isinstance(restored, int) or not isinstance(out.get("values"), dict):
        return [f"restore to {desc}: the result lacks restored_lsn or values"]
    lsn, errors = _target_lsn(target, restored, op, oracle, verified or {})
    if lsn is None:
        return errors
    if restored != lsn:
        errors.append(f"restore to {desc}: restored to LSN {restored}, expected LSN {lsn}")
    errors += state_errors(out["values"], lsn, oracle, desc)
    want = live.get(lsn)
    if want and out.get("digest") and out["digest"] != want[0]:
        errors.append(f"restore to {desc}: restored digest {out['digest']} differs from the "
                      f"live digest {want[0]} at LSN {lsn} ({want[1]})")
    return errors


def _target_lsn(target, restored, op, oracle, verified) -> tuple:
    """(the LSN the restored state must equal, findings about the target itself)."""
    kind = target.get("kind")
    if kind == "lsn":
        return target["lsn"] - (1 if target.get("exclusive") else 0), []
    if kind == "backup":
        end = ((verified.get(target.get("backup")) or {}).get("manifest") or {}).get("end_lsn")
        if not isinstance(end, int):
            return None, [f"restore to {_target_text(target)}: the harness never verified "
                          "that backup, so its end LSN is unknown"]
        return end, []
    desc, errors = _target_text(target), []
    if kind == "time":
        t = (op.invoke_value or {}).get("time_ns")
        for o in oracle.acked:
            if isinstance(t, int) and o.complete_time < t - TIME_SLACK_NS and _lsn(o) > restored:
                errors.append(f"restore to {desc}: write {_op_text(o)} was acknowledged before "
                              f"the target time but is after the restored LSN {restored}")
            if isinstance(t, int) and o.invoke_time > t + TIME_SLACK_NS and _lsn(o) <= restored:
                errors.append(f"restore to {desc}: write {_op_text(o)} was invoked after the "
                              f"target time but is inside the restored state (LSN {restored})")
        return restored, errors[:MAX_ERRORS_PER_RESTORE]
    if kind == "latest":
        for o in oracle.acked:
            if o.complete_time < op.invoke_time and _lsn(o) > restored:
                errors.append(f"restore to latest: acknowledged write {_op_text(o)} is missing "
                              f"(restored LSN {restored}): RPO is not 0")
        return restored, errors[:MAX_ERRORS_PER_RESTORE]
    return None, [f"restore: unknown target kind {kind!r}"]


def state_errors(values: dict, lsn: int, oracle: Oracle, desc: str) -> list[str]:
    """Each key of the oracle (and each restored key) against the log prefix at `lsn`."""
    errors = []
    cutoff = oracle.first_ack_at_or_after(lsn + 1)
    for key in sorted(oracle.keys | set(values), key=str):
        found = values.get(key)
        if key in oracle.sets:
            errors += _set_errors(key, found, lsn, oracle, cutoff, desc)
        else:
            errors += _register_errors(key, found, lsn, oracle, cutoff, desc)
    return errors


def _register_errors(key, found, lsn, oracle, cutoff, desc) -> list[str]:
    last, maybe, _ = oracle.expected(key, lsn, cutoff)
    allowed = [_new(last) if last else None] + [_new(o) for o in maybe]
    if found in allowed:
        return []
    want = _new(last) if last else None
    why = _explain(key, found, lsn, oracle, last)
    extra = f" (or one of {len(maybe)} indeterminate write(s))" if maybe else ""
    return [f"restore to {desc}: key {key!r} expected {want!r}{extra} at LSN {lsn}, found "
            f"{found!r}: {why}"]


def _set_errors(key, found, lsn, oracle, cutoff, desc) -> list[str]:
    if found is None:
        found = []
    if not isinstance(found, list):
        return [f"restore to {desc}: set key {key!r} holds {found!r}, not a list"]
    _, maybe, done = oracle.expected(key, lsn, cutoff)
    acked_before = [o.invoke_value for o in done]
    errors = []
    missing = [o for o in done if o.invoke_value not in found]
    if missing:
        errors.append(f"restore to {desc}: set key {key!r} lacks {missing[0].invoke_value!r}, "
                      f"acknowledged at LSN {_lsn(missing[0])} <= {lsn}"
                      + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    ok_values, maybe_values = set(map(_hashable, acked_before)), set(
        _hashable(o.invoke_value) for o in maybe)
    for e in found:
        if _hashable(e) in ok_values or _hashable(e) in maybe_values:
            continue
        errors.append(f"restore to {desc}: set key {key!r} holds {e!r}, expected only adds "
                      f"at LSN <= {lsn}: {_explain(key, e, lsn, oracle, None, add=True)}")
        break
    order = [e for e in found if _hashable(e) in ok_values]
    if not errors and order != acked_before:
        i = next((n for n, (a, b) in enumerate(zip(order, acked_before)) if a != b),
                 min(len(order), len(acked_before)))
        errors.append(f"restore to {desc}: set key {key!r} holds its acknowledged adds out of "
                      f"LSN order: from position {i} it holds {order[i:i + 4]}, the log order "
                      f"is {acked_before[i:i + 4]} (LSN {_lsn(done[i]) if i < len(done) else '-'})")
    if len(found) != len(set(map(_hashable, found))):
        errors.append(f"restore to {desc}: set key {key!r} holds a duplicate element")
    return errors


def _explain(key, found, lsn, oracle, last, add=False) -> str:
    """The write whose value `found` is, relative to the target LSN."""
    for o in oracle.by_key.get(key, ()):
        if (o.invoke_value if add else _new(o)) == found:
            if _lsn(o) > lsn:
                return f"{_op_text(o)} is after the target and must not be visible"
            return (f"{_op_text(o)} was overwritten by {_op_text(last)}" if last
                    else f"{_op_text(o)}")
    for o in oracle.maybe:
        if o.key == key and (o.invoke_value if add else _new(o)) == found:
            return (f"indeterminate {o.f} invoked at {o.invoke_time / 1e9:.3f} s, after a write "
                    f"at LSN > {lsn} was acknowledged: it cannot precede the target")
    if found is None:
        return f"the key is absent: {_op_text(last)} is missing" if last else "absent"
    return "no write in the history produced this value"


def _live_digests(states, ops) -> dict:
    """LSN -> (digest, where) from live status samples and harness-verified full backups."""
    out = {}
    for s in states or ():
        if isinstance(s, dict) and s.get("ok") and isinstance(s.get("digest_index"), int) \
                and s.get("digest"):
            out.setdefault(s["digest_index"], (s["digest"], f"node {s.get('node')} status"))
    for o in ops:
        v = o.value if o.type == "ok" and o.f == "verify" and isinstance(o.value, dict) else {}
        m = v.get("manifest") or {}
        if v.get("digest") and m.get("kind") == "full" and not v.get("bad"):
            out.setdefault(m.get("end_lsn"), (v["digest"], f"full backup {v.get('backup')}"))
    return out


def _new(o):
    return o.invoke_value[1] if o.f == "cas" and isinstance(o.invoke_value, list) \
        else o.invoke_value


def _lsn(o) -> int:
    return o.extra["lsn"]


def _hashable(v):
    return repr(v)


def _op_text(o) -> str:
    if o is None:
        return "none"
    return (f"{o.f} {o.key!r}={o.invoke_value!r} (LSN {o.extra.get('lsn')}, process "
            f"{o.process}, line {o.line})")


def _message(op) -> str:
    res = op.extra.get("result")
    return str(res.get("message"))[:200] if isinstance(res, dict) else ""


def _target_text(t) -> str:
    t = t or {}
    if t.get("kind") == "lsn":
        return f"LSN {t.get('lsn')}{' exclusive' if t.get('exclusive') else ''}"
    if t.get("kind") == "time":
        return f"time {t.get('time')}"
    if t.get("kind") == "backup":
        return f"backup {t.get('backup')}"
    return str(t.get("kind"))


def _rto_line(rto, threshold) -> dict:
    measured = max(rto) if rto else None
    ok = None if measured is None or threshold is None else measured <= threshold
    return {"name": "pitr_rto_s", "measured": measured,
            "median": statistics.median(rto) if rto else None, "episodes": len(rto),
            "missed": 0, "threshold": threshold, "pass": ok}


def _sla_text(s) -> str:
    if s["measured"] is None:
        return "PITR RTO: not measured (no restore served reads)"
    bar = f" < {s['threshold']:g} s" if s["threshold"] is not None else " (not judged)"
    return (f"PITR RTO: {s['measured']:.2f} s max, median {s['median']:.2f} s over "
            f"{s['episodes']} restore(s){bar}")


CHECKER = Checker("restore", "run", check,
                  "every restore equals the state the history implies at its target")
