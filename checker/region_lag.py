"""Region replication: lag, progress under a region partition, catch-up, identical copies
(layer: checker, pure).

Reads what workloads/regions.py records: `backup` ops (completion = ok time),
`region-sample` (every <= 1 s: per region, backups held, segments held, current
lag = age of the oldest backup it lacks), `region-arrivals` (per region, per
backup: its arrival time minus its completion time on the source, from the
region's own fsynced arrival log) and `region-verify` (the harness's own reading
of every copy against every source). Faults on a region are the timeline's faults
naming a region host (r1..): a partition grudge, a bandwidth or netem step.

Judged:
- lag without a fault on the region's link: every backup whose shipping window saw
  no fault touching that region nor the catch-up after one, p99 against
  `region_lag_s` (our < 5 s); every
  lag, faults included, against `region_lag_seed_s` (the seed's < 5 min);
- while a region is partitioned the other regions keep advancing: each holds more
  backups at the window's last sample than at its first (asserted from samples;
  a window with fewer than two samples inside is an error, not a pass);
- after the heal the cut-off region catches up within `region_catchup_s`: the first
  sample after the heal where it holds as many backups and archive segments as the
  others held at the heal and its lag is under `region_lag_s` (or 5 s);
- at the end every region holds byte-identical copies (no `region-verify` error),
  and no node counts more items acknowledged by a region than the region holds
  (a shipper that acknowledged before the region stored).
"""

from __future__ import annotations

from checker._api import Checker, RunContext

SLA_METRICS = ("region_lag_s", "region_lag_seed_s", "region_catchup_s")
DEFAULT_LAG_S = 5.0


def _ok(history, f):
    return [e for e in history if e.get("f") == f and e.get("type") == "ok"]


def region_faults(faults, regions) -> dict[str, list]:
    """{region: [(start, end, kind)]} of the faults on its link (end None: never healed).
    A partition is on region r's link when r and a database node (a grudge name that is
    not a region) drop each other's packets, either way; any other fault when it names r."""
    out = {r: [] for r in regions}
    for f in faults:
        grudge = (f.value or {}).get("grudge") if f.kind == "partition" else None
        for r in regions:
            if isinstance(grudge, dict):
                dbnodes = [n for n in grudge if n not in regions]
                cut = any(r in (grudge.get(n) or []) or n in (grudge.get(r) or [])
                          for n in dbnodes)
            else:
                cut = r in (f.nodes or [])
            if cut:
                out[r].append((f.start, f.end, f.kind))
    return out


def _overlaps(windows, lo, hi) -> bool:
    return any(s < hi and (e is None or e > lo) for s, e, _ in windows)


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def _lags(history, faults) -> tuple[dict, list]:
    """({region: {"calm": [...], "faulted": [...]}}, all lags) from region-arrivals."""
    done = {e["value"]["backup"]: e["time"] for e in _ok(history, "backup")
            if isinstance(e.get("value"), dict) and "backup" in e["value"]}
    arrivals = next((e["value"] for e in _ok(history, "region-arrivals")), {}) or {}
    out, every = {}, []
    for r, per in arrivals.items():
        calm, faulted = [], []
        for bid, lag in per.items():
            t = done.get(bid)
            if t is None:
                continue
            (faulted if _overlaps(faults.get(r, []), t, t + max(lag, 0) * 1e9 + 1)
             else calm).append(lag)
            every.append(lag)
        out[r] = {"calm": calm, "faulted": faulted}
    return out, every


def _partitions(samples, faults, lag_bar) -> tuple[list, list]:
    """Per partition of a region: the others' progress and its catch-up; errors."""
    episodes, errors = [], []
    for r, windows in faults.items():
        for start, end, kind in windows:
            if kind != "partition":
                continue
            inside = [s for s in samples if start < s["time"] and (end is None or s["time"] < end)]
            ep = {"region": r, "start": start, "end": end, "advanced": {}, "catchup_s": None}
            if len(inside) < 2:
                errors.append(f"{r} partitioned from {start / 1e9:.1f} s: fewer than two lag "
                              f"samples inside the window, so progress cannot be asserted")
            else:
                first, last = inside[0]["value"]["regions"], inside[-1]["value"]["regions"]
                for other in sorted(first):
                    if other == r or any(s_ == start for s_, _, _ in faults.get(other, [])):
                        continue          # itself, or a region cut by the same partition
                    gained = last[other]["backups"] - first[other]["backups"]
                    ep["advanced"][other] = gained
                    if gained <= 0:
                        errors.append(f"{other} did not advance while {r} was partitioned "
                                      f"({start / 1e9:.1f}-{(end or 0) / 1e9:.1f} s): "
                                      f"{first[other]['backups']} backups at the start, "
                                      f"{last[other]['backups']} at the end")
                ep["cut_gained"] = last[r]["backups"] - first[r]["backups"]
            if end is not None:
                ep["catchup_s"] = _catchup(samples, r, end, lag_bar)
                if ep["catchup_s"] is None:
                    errors.append(f"{r} never caught up after its partition healed at "
                                  f"{end / 1e9:.1f} s")
            episodes.append(ep)
    return episodes, errors


def _catchup(samples, r, end, lag_bar) -> float | None:
    before = [s for s in samples if s["time"] <= end]
    if not before:
        return None
    others = before[-1]["value"]["regions"]
    target = max((v["backups"] for o, v in others.items() if o != r), default=0)
    segments = min((v["segments"] for o, v in others.items() if o != r), default=0)
    for s in samples:
        v = s["value"]["regions"].get(r)
        if (s["time"] > end and v and v["backups"] >= target and v["segments"] >= segments
                and v["lag_s"] < lag_bar):
            return round((s["time"] - end) / 1e9, 3)
    return None


def _with_catchup(samples, faults, lag_bar) -> dict[str, list]:
    """The faults with each window stretched to the end of the region's catch-up: a
    backup shipped behind the backlog a fault left is not a lag "with no fault"."""
    out = {}
    for r, windows in faults.items():
        out[r] = []
        for start, end, kind in windows:
            up = _catchup(samples, r, end, lag_bar) if end is not None else None
            out[r].append((start, None if up is None else end + int(up * 1e9), kind))
    return out


def _final(history) -> tuple[dict | None, list]:
    ver = next((e["value"] for e in _ok(history, "region-verify")), None)
    if ver is None:
        return None, []
    errors = [f"copies differ: {line}" for line in ver.get("errors", [])]
    for node, per in (ver.get("acked") or {}).items():
        for r, acked in (per or {}).items():
            held = (ver.get("held") or {}).get(node, {}).get(r)
            if isinstance(acked, int) and isinstance(held, int) and acked > held:
                errors.append(f"shipper acknowledged before the region stored: {node} counts "
                              f"{acked} items acknowledged by {r}, which holds {held}")
    return ver, errors


def _sla(name, measured, threshold, what) -> dict:
    ok = None if measured is None or threshold is None else measured <= threshold
    return {"name": name, "measured": measured, "threshold": threshold, "pass": ok, "what": what}


def check(history: list, ctx: RunContext) -> dict:
    samples = _ok(history, "region-sample")
    if not samples:
        return {"valid": "unknown", "summary": "no region samples in the history", "errors": []}
    regions = sorted(samples[0]["value"]["regions"])
    timeline = ctx.fault_timeline(history)
    faults = region_faults(timeline, regions)
    # how each shaped link was shaped, as the nemesis reported it (htb toward the region,
    # or tbf on whole egresses where htb is missing)
    mechanisms = sorted({f.value["mechanism"] for f in timeline
                         if isinstance((f.value or {}).get("mechanism"), str)})
    lag_bar = ctx.thresholds.get("region_lag_s", DEFAULT_LAG_S)
    per, every = _lags(history, _with_catchup(samples, faults, lag_bar))
    calm = [x for v in per.values() for x in v["calm"]]
    episodes, errors = _partitions(samples, faults, lag_bar)
    ver, final_errors = _final(history)
    errors += final_errors
    catch = [e["catchup_s"] for e in episodes if e["catchup_s"] is not None]
    slas = [_sla("region_lag_s", pct(calm, 0.99), ctx.thresholds.get("region_lag_s"),
                 "p99 lag with no fault on the region link"),
            _sla("region_lag_seed_s", max(every) if every else None,
                 ctx.thresholds.get("region_lag_seed_s"), "max lag, faults included"),
            _sla("region_catchup_s", max(catch) if catch else None,
                 ctx.thresholds.get("region_catchup_s"), "catch-up after a region partition")]
    gaps = _max_gap(samples)
    valid = not errors and all(s["pass"] is not False for s in slas)
    if valid and (ver is None or not calm):
        valid = "unknown"
    for m in ctx.required:
        if m in SLA_METRICS and next(s for s in slas if s["name"] == m)["measured"] is None:
            valid = False if valid is False else "unknown"
    figures = {r: {"calm_median_s": pct(v["calm"], 0.5), "calm_p99_s": pct(v["calm"], 0.99),
                   "faulted_median_s": pct(v["faulted"], 0.5),
                   "faulted_p99_s": pct(v["faulted"], 0.99),
                   "faulted_max_s": max(v["faulted"]) if v["faulted"] else None,
                   "calm": len(v["calm"]), "faulted": len(v["faulted"])} for r, v in per.items()}
    summary = (f"{len(regions)} regions, {len(samples)} samples (max gap {gaps:.2f} s); lag p99 "
               f"{_fmt(pct(calm, 0.99))} s calm, max {_fmt(max(every) if every else None)} s; "
               f"{len(episodes)} region partition(s), catch-up "
               f"{', '.join(f'{c:g} s' for c in catch) or 'n/a'}; copies "
               f"{'identical' if ver is not None and not final_errors else 'NOT verified identical'}")
    if errors:
        summary = f"{len(errors)} violation(s): {errors[0]}"
    shaped = {r: sorted({k for _, _, k in w if k != "partition"}) for r, w in faults.items()
              if any(k != "partition" for _, _, k in w)}
    if shaped:     # which link shaping ran: tc tbf (bandwidth) everywhere, netem where present
        summary += "; shaped links: " + ", ".join(f"{r} {'+'.join(k)}" for r, k in shaped.items())
    summary += "".join(f" ({m})" for m in mechanisms)
    return {"valid": valid, "summary": summary, "errors": errors, "slas": slas, "shaped": shaped,
            "shaping": mechanisms,
            "lag": figures, "episodes": episodes, "max_sample_gap_s": gaps,
            "verify": ver and {k: ver.get(k) for k in ("regions", "source", "acked", "held")}}


def _max_gap(samples) -> float:
    times = [s["time"] for s in samples]
    return max((b - a for a, b in zip(times, times[1:])), default=0) / 1e9


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


CHECKER = Checker("region-lag", "run", check,
                  "backups reach every region with bounded lag; a cut region catches up; "
                  "copies byte-identical")
