"""`harness run`: one case end to end (layer: harness).

DESIGN.md "A run": validate the case and options; provision hosts and start the
DB; run the workloads, the nemesis schedule and the state sampler together;
heal (verified), wait for recovery, final reads; download node logs; tear down
(unless --leave-running); check; write results.json and report.txt.

History and states are written as they happen (flushed every 50 ms) and the
nemesis ledger is fsynced before every fault, so a run killed at any point
leaves a history `harness check RUN_DIR` can analyse and a ledger
`harness heal RUN_DIR` can undo. Ctrl-C / SIGTERM heal, tear down, keep the
history, and exit 128+signal.
"""

from __future__ import annotations

import asyncio
import random
import shlex
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import nemesis
from harness import analysis, capabilities, cluster_state, report
from harness.cases import Case, region_names
from harness.control import close_all, connect_all
from harness.db import db_class, make_db, parse_db_opts
from harness.errors import EXIT_HARNESS, HarnessError
from harness.progress import Progress
from harness.revival import RevivalWatcher
from harness.sampler import StateSampler
from harness.store import JsonlWriter, RunDir
from workloads import make_workload, run_workload

DEFAULT_CONCURRENCY = 8
LEADER_WAIT_S = 10.0
INTERIM_S = 60.0         # interim.json cadence (soak runs)


@dataclass
class RunOptions:
    case: Case
    nodes: int
    backend: str = "auto"
    inventory: str | None = None
    time_limit: float | None = None
    concurrency: int | None = None
    rate: float | None = None
    seed: int = 0
    db: str = "heliosdb"
    db_opts: list = field(default_factory=list)     # --db-opt KEY=VALUE items, as given
    leave_running: bool = False
    store: Path = Path("store")
    argv: list[str] = field(default_factory=list)
    quiet: bool = False


class Run:
    """The state of one run in progress; `execute` drives it."""

    def __init__(self, opts: RunOptions):
        """Validate everything that can be known before provisioning (schedule, database
        options, capabilities); BadInput here leaves nothing behind, not even a run
        directory, and `store/latest` does not move."""
        self.opts, self.case = opts, opts.case
        self.nodes = [f"n{i}" for i in range(1, opts.nodes + 1)]
        self.regions = region_names(self.case.regions)   # region hosts: faults may name them
        self.schedule = nemesis.build_schedule(self.case.nemesis, self.nodes + self.regions,
                                               opts.seed, self.duration_hint())
        self.duration = max(self.duration_hint(), nemesis.end_time(self.schedule) + 2.0)
        self.db_cls = db_class(opts.db)
        self.db_options = parse_db_opts(opts.db, opts.db_opts, self.case.db,
                                        source=f"case {self.case.source}: db")
        capabilities.check(self.case, self.schedule, self.db_cls)
        self.t0 = time.monotonic_ns()
        self.wall_start = time.time()
        self.dir = RunDir(opts.store, self.case.id, opts.seed)
        self.history = JsonlWriter(self.dir.file("history.jsonl"))
        self.states = JsonlWriter(self.dir.file("states.jsonl"))
        self.progress = Progress(self.case.id, self.duration, quiet=opts.quiet)
        self.meta: dict = {}
        self.cluster = None
        self.remotes: list = []
        self.region_remotes: list = []
        self.guard = None
        self.db = None
        self.revival = None
        self.failures: list[dict] = []

    def duration_hint(self) -> float:
        return float(self.opts.time_limit or self.case.time_limit)

    def clock(self) -> int:
        return time.monotonic_ns() - self.t0

    def record(self, event: dict) -> None:
        self.history.write(event)
        self.progress.on_event(event)
        if self.revival is not None:
            self.revival.observe(event)

    def task_failed(self, task: str, exc: BaseException) -> None:
        """A task of the run raised: note it (results.json lists it) and go on."""
        failure = {"task": task, "error": f"{type(exc).__name__}: {exc}",
                   "time": self.clock()}
        self.failures.append(failure)
        self.progress.say(f"{task} failed: {failure['error']} (the run goes on)")

    def write_meta(self, **extra) -> None:
        self.meta.update(extra)
        self.dir.write_json("run.json", self.meta)

    def start_files(self) -> None:
        """case.yaml, run.json (argv, seed, replay command) and the schedule, before anything runs."""
        (self.dir.path / "case.yaml").write_text(yaml.safe_dump(self.case.raw, sort_keys=False))
        o = self.opts
        self.write_meta(case=self.case.id, argv=o.argv, seed=o.seed, nodes=self.nodes,
                        backend=o.backend, wall_start=self.wall_start, duration_s=self.duration,
                        db={"name": o.db, **self.db_options}, started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        replay=replay_command(o, self.case.source))
        nemesis.write_schedule(self.dir.path, self.schedule)


def replay_command(o: RunOptions, source: str) -> str:
    """The command that repeats this run: every option that shapes it, planted bugs included."""
    argv = ["harness", "run", source, "--nodes", str(o.nodes), "--seed", str(o.seed)]
    for flag, value in (("--time-limit", o.time_limit), ("--concurrency", o.concurrency),
                        ("--rate", o.rate)):
        if value is not None:
            argv += [flag, f"{value:g}"]
    if o.db != "heliosdb":
        argv += ["--db", o.db]
    argv += [x for item in o.db_opts for x in ("--db-opt", item)]
    return " ".join(shlex.quote(a) for a in argv)


async def execute(opts: RunOptions) -> dict:
    """Carry out the run; return the results dict (also written to results.json)."""
    run = Run(opts)
    run.start_files()
    run.progress.say(f"run directory {run.dir.path}")
    guard = _Interrupts(asyncio.current_task())
    run.guard = guard
    failure = None
    try:
        guard.install()
        try:
            await _provision_and_test(run)
        except asyncio.CancelledError:
            if not guard.received:
                raise
        except Exception as exc:     # kept: results.json says what happened, history stays
            failure = exc
    finally:
        guard.remove()
        run.progress.stop()
        run.history.close()
        run.states.close()
    interrupted = signal.Signals(guard.received[0]).name if guard.received else None
    run.write_meta(interrupted=interrupted, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    if interrupted:
        return {"case": run.case.id, "run_dir": str(run.dir.path), "valid": "unknown",
                "nodes": run.nodes, "seed": opts.seed, "interrupted": interrupted,
                "exit_code": 128 + guard.received[0], "checks": {}}
    if failure is not None and "workload_start_ns" not in run.meta:
        _note_failure(run, failure)          # nothing ran: no verdict to give
        raise failure if isinstance(failure, HarnessError) else HarnessError(
            f"{type(failure).__name__}: {failure} (traceback in {run.dir.path}/harness-error.log)")
    run.progress.say("checking the history")
    results = analysis.analyze(run.dir.path)
    results["task_failures"] = run.failures
    results["nemesis_steps"] = run.meta.get("nemesis_steps", {"skipped": [], "failed": []})
    if failure is not None:
        results["harness_error"] = _note_failure(run, failure)
        if results["valid"] is not False:    # a violation found before the failure stands
            results["valid"], results["exit_code"] = "unknown", EXIT_HARNESS
    run.dir.write_json("results.json", results)
    (run.dir.path / "report.txt").write_text("\n".join(report.summary_lines(results)) + "\n")
    _write_html(run, results)
    return results


def _write_html(run: Run, results: dict) -> None:
    """report.html beside results.json; a report that cannot be drawn never fails the run."""
    run.progress.say("writing report.html")
    try:
        from harness.reports import write_html_report
        write_html_report(run.dir.path, results)
    except Exception as exc:   # the verdict is in results.json already
        run.progress.say(f"report.html not written: {type(exc).__name__}: {exc} "
                         f"(retry: harness report {run.dir.path})")


def _note_failure(run: Run, exc: BaseException) -> str:
    """Keep the traceback in the run directory and a results.json saying why; the reason."""
    reason = f"{type(exc).__name__}: {exc}"
    (run.dir.path / "harness-error.log").write_text(
        "".join(traceback.format_exception(exc)))
    if not (run.dir.path / "results.json").exists():
        run.dir.write_json("results.json", {
            "case": run.case.id, "run_dir": str(run.dir.path), "valid": "unknown",
            "exit_code": getattr(exc, "exit_code", EXIT_HARNESS), "nodes": run.nodes,
            "seed": run.opts.seed, "harness_error": reason, "task_failures": run.failures,
            "checks": {}})
    return reason


class _Interrupts:
    """SIGINT/SIGTERM cancel the main task (teardown runs in finally) and are noted.
    The nemesis session installs its own handlers while faults may be active (it heals
    first); `install` is called again after it, since removing handlers resets them."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, task):
        self.task, self.received = task, []

    def _on_signal(self, signum):
        self.received.append(signum)
        if len(self.received) == 1:
            self.task.cancel()

    def note(self, signum: int) -> None:
        self.received.append(signum)

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self.SIGNALS:
            loop.add_signal_handler(sig, self._on_signal, sig)

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self.SIGNALS:
            loop.remove_signal_handler(sig)
        if self.received and self.task.cancelling():
            self.task.uncancel()


async def _provision_and_test(run: Run) -> None:
    opts = run.opts
    run.progress.say(f"provisioning {opts.nodes} node(s) on backend {opts.backend}")
    try:
        run.cluster = await cluster_state.provision(
            opts.backend, opts.nodes, run.dir.path, inventory=opts.inventory,
            progress=run.progress.say, regions=run.case.regions)
        node_hosts, region_hosts = cluster_state.split_hosts(run.cluster.hosts, run.case.regions)
        db = make_db(opts.db, node_hosts, run.db_options)
        run.db = db
        run.cluster.db = db.describe()
        cluster_state.write_record(run.cluster, opts.store)
        run.write_meta(run_id=run.cluster.run_id, backend=run.cluster.backend,
                       hosts={h.name: h.address for h in run.cluster.hosts})
        run.remotes = await connect_all(node_hosts)
        if hasattr(db, "attach"):          # adapters acting on node disks (backups)
            db.attach(run.remotes)
        if region_hosts:                   # backup-store hosts: their stores before the nodes
            run.region_remotes = await connect_all(region_hosts)
            run.progress.say(f"starting region stores on {', '.join(run.regions)}")
            await db.start_regions(run.region_remotes)
        run.progress.say("installing and starting the database")
        try:
            leader = await cluster_state.start_db(db, run.remotes)
        except HarnessError:
            if await _split_brain_at_start(run, db):
                return                 # a finding, checked like any run: exit 1, not 255
            raise
        run.progress.say(f"leader elected: {leader}")
        await _test(run, db)
    finally:
        await _finish(run)


async def _split_brain_at_start(run: Run, db) -> bool:
    """The cluster never agreed on a leader at start-up: if two nodes claim to lead one term,
    that is a safety violation of the database, not a failure of the run. Record every
    node's status as state samples (the split-brain checker judges them) and say so."""
    sampler = StateSampler(db, run.cluster.hosts, run.states.write, run.clock)
    await sampler.sample_all()
    terms: dict = {}
    for s in sampler.latest.values():
        if s.get("ok") and s.get("role") == "leader":
            terms.setdefault(s.get("term"), []).append(s["node"])
    split = {t: sorted(ns) for t, ns in terms.items() if len(ns) > 1}
    if not split:
        return False
    run.progress.say("no single leader at start: " + "; ".join(
        f"term {t}: {', '.join(ns)} all lead" for t, ns in split.items()))
    run.write_meta(workload_start_ns=run.clock(), start_split_brain={str(t): ns for t, ns
                                                                      in split.items()})
    return True


async def _test(run: Run, db) -> None:
    sampler = StateSampler(db, db.hosts, run.states.write, run.clock)
    nem = nemesis.Nemesis({r.host.name: r for r in run.remotes + run.region_remotes},
                          nemesis.Ledger(run.dir.path),
                          record=run.record, clock=run.clock, db=db)
    await nemesis.validate(nem, run.schedule)
    run.revival = RevivalWatcher(db, {r.host.name: r for r in run.remotes}, run.record, run.clock,
                                 bound_s=run.case.revival)
    loads = _workloads(run)
    async with asyncio.TaskGroup() as tg:
        sampling = tg.create_task(guarded(run, "state sampler", sampler.run()))
        ticking = tg.create_task(guarded(run, "progress", _tick(run, sampler)))
        try:
            run.progress.phase = "workload + nemesis"
            run.progress.start()
            run.write_meta(workload_start_ns=run.clock())
            try:
                async with nemesis.nemesis_session(nem):
                    await _drive(run, nem, sampler, loads)
            except nemesis.Interrupted as exc:
                run.guard.note(exc.signum)   # healed already; skip recovery and final reads
                return
            finally:
                run.guard.install()
            run.progress.phase = "recovery"
            run.write_meta(healed_ns=run.clock())
            await _await_recovery(run, sampler)
            run.progress.phase = "final reads"
            for load, record in loads:
                await guarded(run, f"{load.name} final reads", load.final_reads(
                    run.nodes, db.connect(load.kind) if load.kind else None, record,
                    run.clock))
            run.write_meta(final_reads_done_ns=run.clock())
            await run.revival.drain()
        finally:
            run.progress.stop()
            sampling.cancel()
            ticking.cancel()


def _workloads(run: Run) -> list:
    """(workload, record) pairs; each workload's process ids are spread so they never
    collide, and its events carry `workload` so checkers can pick their ops."""
    specs, out = run.case.workloads, []
    for i, spec in enumerate(specs):
        options = {k: v for k, v in spec.items() if k in ("keys",)}
        options.update(spec.get("options") or {})
        load = make_workload(spec["name"], **options)

        def record(event, _i=i, _name=spec["name"], _n=len(specs)):
            p = event.get("process")
            if isinstance(p, int):
                event = {**event, "process": p * _n + _i}
            run.record({**event, "workload": _name})
        out.append((load, record))
    return out


async def _drive(run: Run, nem, sampler, loads) -> None:
    opts = run.opts
    total_c = opts.concurrency
    async with asyncio.TaskGroup() as tg:
        for i, ((load, record), spec) in enumerate(zip(loads, run.case.workloads)):
            share = (max(1, total_c // len(loads)) if total_c
                     else spec.get("concurrency", DEFAULT_CONCURRENCY))
            rate = (opts.rate / len(loads) if opts.rate else spec.get("rate", 0))
            if hasattr(load, "drive"):     # a workload that drives the adapter (backups)
                tg.create_task(guarded(run, f"{load.name} workload", load.drive(
                    run.db, run.nodes, record, run.clock, run.duration, opts.seed * 1000 + i,
                    run.db.connect)))
                continue
            tg.create_task(guarded(run, f"{load.name} workload", run_workload(
                load, run.nodes, run.db.connect(load.kind), share, rate, run.duration, record,
                run.clock, seed=opts.seed * 1000 + i)))
        tg.create_task(guarded(run, "nemesis timeline",
                               _run_timeline(run, nem, run.schedule, sampler)))


async def _run_timeline(run: Run, nem, schedule, sampler) -> None:
    """nemesis.run_timeline with the cluster's leader: steps may overlap (cascades); a step
    whose targets cannot be chosen is skipped, one that fails is recorded, the run goes on.
    run.json (and results.json) list the skipped and failed steps."""
    loop = asyncio.get_running_loop()

    async def leader():
        deadline = loop.time() + LEADER_WAIT_S
        while sampler.leader() is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return sampler.leader()

    outcome = await nemesis.run_timeline(nem, schedule, leader=leader, say=run.progress.say)
    run.write_meta(nemesis_steps=outcome.to_json())


async def guarded(run: Run, task: str, coro):
    """Await `coro`; an exception (not a cancellation) is noted on the run, not raised, so
    no task of a run can end it with 255 and throw the history's evidence away."""
    try:
        return await coro
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        run.task_failed(task, exc)
        return None


async def _tick(run: Run, sampler) -> None:
    """Progress 4 times a second; every INTERIM_S an interim.json a soak run can be watched by
    (counts so far, elapsed, leader, the harness's own memory), written atomically."""
    next_interim = run.clock() + INTERIM_S * 1e9
    while True:
        run.progress.tick(sampler.leader())
        if run.clock() >= next_interim:
            next_interim += INTERIM_S * 1e9
            run.dir.write_json("interim.json", {
                "phase": run.progress.phase, "elapsed_s": round(run.progress.elapsed(), 1),
                "counts": dict(run.progress.counts), "leader": sampler.leader(),
                "task_failures": len(run.failures), "max_rss_mib": _max_rss_mib(),
                "time_ns": run.clock()})
        await asyncio.sleep(0.25)


def _max_rss_mib() -> float:
    import resource
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def _await_recovery(run: Run, sampler) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + run.case.recovery
    while loop.time() < deadline:
        if sampler.converged(run.revival.refused):
            run.write_meta(recovered=True)
            return
        await asyncio.sleep(0.1)
    run.write_meta(recovered=False)
    run.progress.say(f"cluster did not converge within {run.case.recovery:g} s after the heal")


async def _finish(run: Run) -> None:
    """Download logs, close connections, tear down (unless --leave-running). Shielded:
    an interrupt must not leave containers or namespaces behind."""
    async def work():
        if run.remotes:
            run.progress.say("downloading node logs")
            for r in run.remotes:
                try:
                    await asyncio.wait_for(run.db.logs(r, run.dir.node_dir(r.host.name)), 30)
                except (HarnessError, OSError, asyncio.TimeoutError) as exc:
                    run.progress.say(f"{r.host.name}: could not download logs: {exc}")
            await close_all(run.remotes)
        if run.region_remotes:
            try:
                await asyncio.wait_for(run.db.region_logs(run.dir.path / "nodes"), 30)
            except (HarnessError, OSError, asyncio.TimeoutError) as exc:
                run.progress.say(f"could not download region store logs: {exc}")
            await close_all(run.region_remotes)
        if run.cluster is not None and not run.opts.leave_running:
            run.progress.say("tearing down")
            await cluster_state.teardown(run.cluster)
    await asyncio.shield(work())


def new_seed() -> int:
    return random.SystemRandom().randrange(1, 1 << 31)
