"""Carry out a campaign's runs, each as its own `harness run ... --json` process (layer: harness).

One process per run keeps runs independent (a crash, a leak or a hung
cluster stays in its run) and makes each run exactly what its replay command
repeats. A run that prints no results (exit 255, a crash, a timeout) is
recorded as "not run" with the tail of its stderr. A run that overstays
its budget gets SIGINT (the runner heals and tears down on it), then SIGKILL.
Ctrl-C or SIGTERM of the campaign sends SIGINT to the runs in progress, starts
no more, and the campaign still writes its results (the rest as "not run").
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from harness.campaign import Campaign, Cell
from harness.campaign_stats import outcome

GRACE_S = 900          # per run on top of its time limit: provisioning, recovery, checking
DEFAULT_LIMIT_S = 300
STDERR_TAIL = 2000


def run_argv(cell: Cell, backend: str, store: Path, extra: list[str]) -> list[str]:
    """`harness run` arguments for one cell (without the interpreter)."""
    argv = ["run", cell.case, "--nodes", str(cell.nodes), "--seed", str(cell.seed),
            "--store", str(store), "--backend", backend, "--json", "--quiet"]
    if cell.time_limit is not None:
        argv += ["--time-limit", f"{cell.time_limit:g}"]
    for opt in cell.db_opt:
        argv += ["--db-opt", opt]
    return argv + list(extra)


def _results(stdout: str) -> dict | None:
    start = stdout.find("{")
    try:
        data = json.loads(stdout[start:]) if start >= 0 else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _violation(results: dict) -> str | None:
    """The first violation line: a failing checker's first error (SLA failures included);
    else why a checker could not decide (its error, or its summary)."""
    checks = [(n, r) for n, r in (results.get("checks") or {}).items() if isinstance(r, dict)]
    for wanted in (False, "unknown"):
        for name, res in checks:
            if res.get("valid") is wanted or (wanted == "unknown" and res.get("valid")
                                               not in (True, False)):
                why = (res.get("errors") or [None])[0] or res.get("error") or res.get("summary")
                word = "" if wanted is False else "unknown: "
                return f"{name}: {word}{why or 'no detail'}"
    return None


def _slas(results: dict) -> dict:
    sla = (results.get("checks") or {}).get("sla") or {}
    return {s["name"]: {"measured": s.get("measured"), "pass": s.get("pass")}
            for s in sla.get("slas") or [] if isinstance(s, dict) and "name" in s}


class _Live:
    """The runs in progress, so an interrupted campaign can stop them (each heals and tears
    down on SIGINT) and start no more."""

    def __init__(self):
        self.lock, self.procs, self.stopping = threading.Lock(), set(), False

    def start(self, argv):
        with self.lock:
            if self.stopping:
                return None
            proc = subprocess.Popen([sys.executable, "-m", "harness", *argv],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.procs.add(proc)
            return proc

    def stop_all(self):
        with self.lock:
            self.stopping = True
            for proc in self.procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)


LIVE = _Live()


def _execute(argv: list[str], budget: float) -> tuple[int, str, str]:
    proc = LIVE.start(argv)
    if proc is None:
        return 255, "", "campaign: interrupted before this run started"
    try:
        return _wait(proc, budget)
    finally:
        with LIVE.lock:
            LIVE.procs.discard(proc)


def _wait(proc, budget: float) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        err = f"{err}\ncampaign: run exceeded its budget of {budget:.0f} s and was stopped"
        return 255, out, err
    return proc.returncode, out, err


def run_cell(cell: Cell, backend: str, store: Path, extra: list[str] | None = None) -> dict:
    """Carry out one cell; its record (the cell, outcome, violation, run dir, replay, SLAs)."""
    argv = run_argv(cell, backend, store, extra or [])
    budget = (cell.time_limit or DEFAULT_LIMIT_S) * 2 + GRACE_S
    started = time.monotonic()
    code, out, err = _execute(argv, budget)
    results = _results(out) if code in (0, 1, 2) else None
    if code in (0, 1, 2) and results is None:
        code, err = 255, f"{err}\ncampaign: exit {code} but no results JSON on stdout"
    record = {**cell.to_json(), "exit_code": code, "outcome": outcome(code),
              "seconds": round(time.monotonic() - started, 3),
              "command": shlex.join(["harness", *(a for a in argv
                                                  if a not in ("--json", "--quiet"))]),
              "stderr": err.strip()[-STDERR_TAIL:] if code not in (0, 1, 2) else ""}
    if results is not None:
        run_dir = results.get("run_dir")
        record.update(run_dir=run_dir, valid=results.get("valid"),
                      violation=_violation(results), slas=_slas(results),
                      ops_per_s=(((results.get("checks") or {}).get("perf") or {})
                                 .get("overall") or {}).get("ops_per_s"),
                      replay=_replay(run_dir) or record["command"])
        _ensure_report(run_dir, record)
    else:
        record.update(run_dir=None, valid=None, replay=record["command"],
                      violation=f"could not be carried out (exit {code}): "
                                f"{(err.strip().splitlines() or ['no output'])[-1]}")
    return record


def _replay(run_dir) -> str | None:
    try:
        return json.loads((Path(run_dir) / "run.json").read_text()).get("replay")
    except (OSError, ValueError, TypeError):
        return None


def _ensure_report(run_dir, record: dict) -> None:
    """A report.html for every run of a campaign (the campaign page links to them)."""
    if not run_dir or (Path(run_dir) / "report.html").exists():
        return
    try:
        from harness.reports import write_html_report
        write_html_report(run_dir)
    except Exception as exc:  # a report is a convenience: never turn a run into a failure
        record["report_error"] = f"{type(exc).__name__}: {exc}"


def run_cells(cells: list[Cell], campaign: Campaign, store: Path, parallel: int,
              on_done, extra: list[str] | None = None) -> list[dict]:
    """Run `cells` (at most `parallel` at once); `on_done(record, done, total)` after each."""
    records = []
    with ThreadPoolExecutor(max_workers=max(parallel, 1)) as pool:
        extra = (["--inventory", campaign.inventory] if campaign.inventory else []) + list(
            extra or [])
        pending = {pool.submit(run_cell, c, campaign.backend, store, extra) for c in cells}
        while pending:
            try:
                done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:   # Ctrl-C / SIGTERM: stop the runs, keep every record
                LIVE.stop_all()
                continue
            for fut in done:
                records.append(fut.result())
                on_done(records[-1], len(records), len(cells))
    return sorted(records, key=lambda r: r["index"])
