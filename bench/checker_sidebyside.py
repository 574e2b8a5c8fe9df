#!/usr/bin/env python3
"""Side-by-side timing: our checker (`harness check FILE --json`) vs Porcupine (driver/porcupine-driver).

A copy of ../shared/tools/porcupine/sidebyside.py (not ours to edit), changed only to
report Porcupine's time both ways when the driver prints both (bench/porcupine_driver:
"seconds" from the decoded ops, as our elapsed_s, and "check_events_seconds", the
CheckEventsTimeout call alone, which is what the shared driver's "seconds" is), to
count a run that ran out of memory as undecided (the shared script counts it as a
wrong verdict) and print a set where one side has no time (it crashed there), and to
find the shared folder from here. Build the driver with
`OUT=/tmp/porcupine-driver-ops bench/porcupine_driver/build.sh` and pass --driver.

usage:
  sidebyside.py [--sets porcupine,knossos] [--dir NAME=PATH ...] [--reps 3]
                [--verify-only] [--json OUT]
  sidebyside.py --hard DIR [--limit 60] [--mem 8000000000] [--json OUT]

A set is a directory with a MANIFEST.json: either {"files": [{"file", "model", "expected"}, ...]}
or {FILE: {"model", "expected"}, ...}; expected is "linearizable" or "not-linearizable".
Build the driver first: ./build.sh (needs `apt-get install golang-go`).

Normal mode: for every file, `reps` rounds; each round runs Porcupine (CheckEventsTimeout) and
ours, one process each, alternating the order between rounds (the machine may be shared with other work:
2-core machine, hence interleaving + medians); --porcupine-verbose adds CheckEventsVerbose runs
(beware: Verbose never stops early on Illegal; on porcupine/kv_c50-bad it ran >3 min at 12 GB).
Both checkers get the same --limit (default 120 s) and prlimit --as=--mem per process.
Times compared are in-process: ours = result "elapsed_s" (whole check_linearizable, parse and
interpreter start-up excluded; "search_s" = up to the verdict, no counterexample);
Porcupine = driver "seconds" (only the CheckEvents* call, parse excluded). Process wall times
(start-up + parse included) are reported too.

Hard mode: each file ONCE per checker, time limit `--limit` s (ours --time-limit, Porcupine
-timeout), address space capped with `prlimit --as=MEM` (per process), peak RSS from wait4.

Semantics per set (from the MANIFEST.json files): porcupine/etcd/gen cas-register = initial
null, null read = absent, fail dropped, info = indeterminate; knossos = initial 0, null read =
unknown; kv = string registers, initial ""; multi-register = initial 0, null read unknown.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[2] / "shared" / "tools" / "porcupine"
DRIVER = Path("/tmp/porcupine-driver-ops")
CORPUS = HERE.parent.parent / "corpus"

KNOSSOS_OPTS = (["--initial-value", "0", "--null-read", "unknown"], ["-init", "0", "-null-read", "unknown"])


def set_dirs(extra):
    dirs = {"porcupine": CORPUS / "porcupine", "knossos": CORPUS / "knossos"}
    for item in extra or []:
        name, _, path = item.partition("=")
        dirs[name] = Path(path)
    return dirs


def manifest(d):
    m = json.load(open(d / "MANIFEST.json"))
    files = m.get("files", m)  # genhist writes {file: entry}
    if isinstance(files, dict):
        files = [dict(v, file=k) for k, v in files.items()]
    return sorted(files, key=lambda e: e["file"])


def options(set_name, model):
    """(our extra args, porcupine driver args) for a file."""
    ours, porc = ["--model", model], ["-model", model]
    if set_name == "knossos" or model == "multi-register":
        ours += KNOSSOS_OPTS[0]
        porc += KNOSSOS_OPTS[1]
    return ours, porc


def run(cmd, limit, mem=None):
    """Run cmd in its own session; return (rc, stdout, stderr, wall_s, peak_rss_mib, killed)."""
    if mem:
        cmd = ["prlimit", f"--as={mem}", "--"] + cmd
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    bufs = {}
    readers = [threading.Thread(target=lambda n=n, f=f: bufs.__setitem__(n, f.read()))
               for n, f in (("out", p.stdout), ("err", p.stderr))]
    for t in readers:
        t.start()
    killed = []

    def kill():
        killed.append(True)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    timer = threading.Timer(limit, kill)
    timer.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    return (p.returncode, bufs["out"].decode(), bufs["err"].decode(), wall, ru.ru_maxrss / 1024,
            bool(killed))


def verdict_of(valid):
    return {True: "linearizable", False: "not-linearizable"}.get(valid, "unknown")


def classify_failure(rc, err, killed):
    if killed:
        return "killed (outer limit)"
    low = err.lower()
    if "out of memory" in low or "memoryerror" in low or "cannot allocate memory" in low or rc in (-9, 137):
        return "oom"
    return f"error rc={rc}: {err.strip()[-200:]}"


def run_ours(path, args, limit, time_limit=None, mem=None):
    cmd = ["harness", "check", str(path), "--json"] + args
    if time_limit:
        cmd += ["--time-limit", str(time_limit)]
    rc, out, err, wall, rss, killed = run(cmd, limit, mem)
    try:
        r = json.loads(out)
        return dict(verdict=verdict_of(r["valid"]), seconds=r["elapsed_s"], search_s=r.get("search_s"),
                    wall=wall, rss_mib=rss, reason=r.get("reason"))
    except (ValueError, KeyError):
        return dict(verdict=classify_failure(rc, err, killed), seconds=None, wall=wall, rss_mib=rss)


def run_porc(path, args, limit, timeout=0, verbose=False, mem=None):
    cmd = [str(DRIVER), "-timeout", str(timeout)] + (["-verbose"] if verbose else []) + args + [str(path)]
    rc, out, err, wall, rss, killed = run(cmd, limit, mem)
    try:
        r = json.loads(out)
        v = {"ok": "linearizable", "illegal": "not-linearizable"}.get(r["result"], "unknown")
        return dict(verdict=v, seconds=r["seconds"], wall=wall, rss_mib=rss,
                    check_events_s=r.get("check_events_seconds"))
    except (ValueError, KeyError):
        return dict(verdict=classify_failure(rc, err, killed), seconds=None, wall=wall, rss_mib=rss)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def normal(args):
    dirs = set_dirs(args.dir)
    report = {}
    names = args.sets.split(",") + [d.partition("=")[0] for d in args.dir or []]
    for s in dict.fromkeys(n for n in names if n):
        d = dirs[s]
        files = manifest(d)
        rows = []
        t_set = time.time()
        for e in files:
            path = d / e["file"]
            ours_a, porc_a = options(s, e.get("model", "cas-register"))
            runs = {"porc": [], "ours": [], "porcv": []}
            for rep in range(1 if args.verify_only else args.reps):
                order = ["porc", "ours", "porcv"] if rep % 2 == 0 else ["ours", "porcv", "porc"]
                if args.verify_only:
                    order = ["porc"]
                elif not args.porcupine_verbose:
                    order.remove("porcv")
                outer = args.limit + 60
                for who in order:
                    if who == "ours":
                        runs[who].append(run_ours(path, ours_a, outer, time_limit=args.limit, mem=args.mem))
                    else:
                        runs[who].append(run_porc(path, porc_a, outer, timeout=args.limit,
                                                  verbose=(who == "porcv"), mem=args.mem))
            row = dict(file=e["file"], model=e.get("model", "cas-register"), expected=e["expected"])
            for who, rs in runs.items():
                if not rs:
                    continue
                row[who] = dict(verdicts=sorted({r["verdict"] for r in rs}),
                                median_s=med(r["seconds"] for r in rs),
                                runs_s=[r["seconds"] for r in rs],
                                median_wall_s=med(r["wall"] for r in rs),
                                peak_rss_mib=max(r["rss_mib"] for r in rs))
                if who == "ours":
                    row[who]["median_search_s"] = med(r.get("search_s") for r in rs)
                else:
                    row[who]["median_check_events_s"] = med(r.get("check_events_s") for r in rs)
            if s == "porcupine" and args.verify_only and e.get("model") == "cas-register":
                r = run_porc(path, porc_a + ["-fail-cas", "compare"], args.limit + 60, timeout=args.limit,
                             mem=args.mem)
                row["porc_failcas_compare"] = r["verdict"]
            rows.append(row)
        report[s] = dict(dir=str(d), rows=rows, set_wall_s=time.time() - t_set)
        print_set(s, rows, args.verify_only)
        sys.stdout.flush()
    return report


def wrong(rows, who):
    """(files with a wrong verdict, files left undecided: unknown, out of memory, killed)."""
    w = [r["file"] for r in rows if who in r and any(v in VERDICTS and v != r["expected"]
                                                     for v in r[who]["verdicts"])]
    u = [r["file"] for r in rows if who in r and any(v not in VERDICTS
                                                     for v in r[who]["verdicts"])]
    return w, u


VERDICTS = ("linearizable", "not-linearizable")


def total(rows, who, field="median_s"):
    xs = [r[who][field] for r in rows if who in r]
    return None if not xs or any(x is None for x in xs) else sum(xs)


def print_set(s, rows, verify_only):
    print(f"\n== {s}: {len(rows)} files")
    for who, label in (("porc", "porcupine"), ("ours", "ours"), ("porcv", "porcupine-verbose")):
        if not any(who in r for r in rows):
            continue
        w, u = wrong(rows, who)
        print(f"  {label:18s} wrong {len(w)} {w[:6]}  unknown {len(u)} {u[:6]}")
    if verify_only:
        alt = [r["file"] for r in rows if r.get("porc_failcas_compare") not in (None, r["expected"])]
        if any("porc_failcas_compare" in r for r in rows):
            print(f"  porcupine with -fail-cas compare: wrong {len(alt)} {alt}")
        return
    po, ou, pv = total(rows, "porc"), total(rows, "ours"), total(rows, "porcv")
    osr = total(rows, "ours", "median_search_s")
    pw, ow = total(rows, "porc", "median_wall_s"), total(rows, "ours", "median_wall_s")
    fmt = lambda x: "n/a" if x is None else f"{x:.4f}"
    rat = lambda a, b: "n/a" if not a or not b else f"{a / b:.2f}"
    print(f"  sum of per-file medians (s): ours elapsed {fmt(ou)} (search {fmt(osr)}) | "
          f"porcupine {fmt(po)} | porcupine-verbose {fmt(pv)}")
    print(f"  ratio ours/porcupine: {rat(ou, po)} (search_s: {rat(osr, po)}; vs verbose: {rat(ou, pv)})")
    pce = total(rows, "porc", "median_check_events_s")
    print(f"  porcupine CheckEventsTimeout alone {fmt(pce)}: ratio ours/that {rat(ou, pce)} "
          f"(search_s: {rat(osr, pce)})")
    print(f"  process wall incl. start-up+parse: ours {fmt(ow)} | porcupine {fmt(pw)} | ratio {rat(ow, pw)}")
    top = sorted(rows, key=lambda r: -(r["ours"]["median_s"] or 0))[:3]
    print("  slowest for ours: " + ", ".join(
        f"{r['file']} {fmt(r['ours']['median_s'])}s vs {fmt(r['porc']['median_s'])}s" for r in top))


def hard(args):
    d = Path(args.hard)
    rows = []
    print(f"== hard set {d}: limit {args.limit} s, prlimit --as={args.mem} per process")
    print(f"{'file':28s} {'expected':17s} | {'ours':17s} {'s':>7s} {'MiB':>6s} | {'porcupine':17s} {'s':>7s} {'MiB':>6s}")
    for e in manifest(d):
        path = d / e["file"]
        ours_a, porc_a = options("hard", e.get("model", "cas-register"))
        outer = args.limit + 60
        p = run_porc(path, porc_a, outer, timeout=args.limit, mem=args.mem)
        o = run_ours(path, ours_a, outer, time_limit=args.limit, mem=args.mem)
        row = dict(file=e["file"], expected=e["expected"], ops=e.get("ops"), ours=o, porc=p)
        rows.append(row)
        sec = lambda r: f"{r['seconds']:.3f}" if r["seconds"] is not None else f"({r['wall']:.1f})"
        print(f"{e['file']:28s} {e['expected']:17s} | {o['verdict'][:17]:17s} {sec(o):>7s} {o['rss_mib']:6.0f} | "
              f"{p['verdict'][:17]:17s} {sec(p):>7s} {p['rss_mib']:6.0f}", flush=True)
    for who in ("ours", "porc"):
        dec = sum(r[who]["verdict"] in ("linearizable", "not-linearizable") for r in rows)
        bad = [r["file"] for r in rows if r[who]["verdict"] in ("linearizable", "not-linearizable")
               and r[who]["verdict"] != r["expected"]]
        print(f"  {who}: decided {dec}/{len(rows)}, wrong {bad}")
    return {"hard": dict(dir=str(d), limit_s=args.limit, mem=args.mem, rows=rows)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="porcupine,knossos")
    ap.add_argument("--dir", action="append", help="NAME=PATH of another set with a MANIFEST.json")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--porcupine-verbose", action="store_true", help="also time CheckEventsVerbose")
    ap.add_argument("--verify-only", action="store_true", help="one Porcupine run per file, verdicts only")
    ap.add_argument("--hard")
    ap.add_argument("--limit", type=float, default=None,
                    help="per-check time limit, both sides (default: 120 s normal mode, 60 s --hard)")
    ap.add_argument("--mem", type=int, default=8_000_000_000)
    ap.add_argument("--json", help="write all per-file results here")
    ap.add_argument("--driver", help="the built porcupine-driver (default: driver/porcupine-driver)")
    args = ap.parse_args()
    global DRIVER
    DRIVER = Path(args.driver) if args.driver else DRIVER
    if not DRIVER.exists():
        sys.exit(f"{DRIVER} missing: run {HERE / 'build.sh'} first")
    info = dict(started=time.strftime("%Y-%m-%dT%H:%M:%S"), argv=sys.argv, nproc=os.cpu_count(),
                go=subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip(),
                porcupine_commit=(HERE / "src" / "COMMIT").read_text().strip())
    if args.limit is None:
        args.limit = 60 if args.hard else 120
    res = hard(args) if args.hard else normal(args)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(info, results=res), fh, indent=1)


if __name__ == "__main__":
    main()
