"""Interrupting `harness run` mid-partition: SIGINT heals and tears down; SIGKILL leaves a
history `harness check` can analyse and a ledger `harness heal` can undo (layer: tests).

Real runs of tc-af-004 (partition topologies) on 3 nodes, as a subprocess; the test waits
for a partition to be in effect (from the run's own history.jsonl) before signalling.
"""

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

VERDICT = re.compile(r"^=== TC-AF-004: (PASSED|FAILED|UNKNOWN) ===$", re.M)
PARTITION_WAIT_S = 150    # docker bring-up on shared cores, then the first fault at ~3 s
SIGINT_EXIT_S = 90        # heal, log download, teardown
CONNECT_PORT = 22         # sshd runs in every node whatever the DB's state; the grudge drops all ports


def _harness(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=timeout)


def _require_docker() -> None:
    """Fail (never skip) when the engine does not answer: slow tests need it (CI runs them all).
    Only the engine's own error is turned into a failure; anything else propagates."""
    import docker
    try:
        docker.from_env().ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"docker tests need a Docker engine: {exc}")


def _history(run_dir: Path) -> list[dict]:
    """Complete lines only: the run is writing the file while we read it."""
    path = run_dir / "history.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def _open_partition(events: list[dict]) -> dict | None:
    """The latest applied partition not yet ended, from the nemesis events."""
    open_ = {}
    for ev in events:
        if ev.get("process") != "nemesis":
            continue
        v = ev.get("value") or {}
        if ev["f"] == "partition" and ev["type"] == "info" and "fault" in v and "error" not in v:
            open_[v["fault"]] = ev
        elif ev["f"] == "end" and ev["type"] == "invoke":
            open_.pop(v.get("fault"), None)
        elif ev["f"] == "heal" and ev["type"] == "invoke":
            open_.clear()
    return max(open_.values(), key=lambda e: e["time"], default=None)


class RunProc:
    """A `harness run tc-af-004 --nodes 3` subprocess in its own session."""

    def __init__(self, backend: str, store: Path, seed: int):
        self.store = store
        self.log_path = store.parent / f"run-{backend}-{seed}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness", "run", "tc-af-004", "--nodes", "3",
             "--backend", backend, "--store", str(store), "--seed", str(seed),
             "--time-limit", "40", "--quiet"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text()

    def run_dir(self) -> Path | None:
        dirs = sorted((self.store / "tc-af-004").glob("*"))
        return dirs[0] if dirs else None

    def wait_for_partition(self) -> tuple[Path, dict]:
        deadline = time.monotonic() + PARTITION_WAIT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"run ended early:\n{self.output()}"
            run_dir = self.run_dir()
            ev = _open_partition(_history(run_dir)) if run_dir else None
            if ev is not None:
                return run_dir, ev
            time.sleep(0.1)
        raise AssertionError(f"no partition in effect within {PARTITION_WAIT_S} s:\n"
                             f"{self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.log.close()


def _run_id(run_dir: Path) -> str:
    return json.loads((run_dir / "cluster.json").read_text())["run_id"]


def _leftover_nodes(backend: str, run_id: str) -> list[str]:
    if backend == "netns":
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        return [line.split()[0] for line in out.splitlines() if run_id in line]
    out = subprocess.run(["docker", "ps", "-a", "--filter",
                          f"label=heliosdb-harness.run={run_id}", "--format", "{{.Names}}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def _assert_check_analyses(run_dir: Path) -> None:
    proc = _harness("check", str(run_dir), timeout=180)
    assert proc.returncode in (0, 1, 2), proc.stdout + proc.stderr
    assert VERDICT.search(proc.stdout), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture
def store(tmp_path):
    """A private store; whatever run it holds is torn down afterwards, by its own record
    (not `cluster down --all`, which would sweep other people's runs on a shared machine)."""
    store = tmp_path / "store"
    yield store
    if (store / "clusters" / "current").exists():
        _harness("cluster", "down", "--store", str(store), timeout=120)


@pytest.mark.parametrize("backend", ["netns", "docker"])
def test_sigint_mid_partition_heals_tears_down_and_keeps_the_history(backend, store):
    if backend == "docker":
        _require_docker()
    run = RunProc(backend, store, seed=11)
    try:
        run_dir, partition = run.wait_for_partition()
        run.proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        rc = run.proc.wait(timeout=SIGINT_EXIT_S)
        took = time.monotonic() - sent
    finally:
        run.stop()
    out = run.output()
    assert rc == 130, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert f"harness check {run_dir}" in out and "nodes 3, seed 11," in out, out
    heals = [e for e in _history(run_dir) if e.get("process") == "nemesis"
             and e["f"] == "heal" and e["type"] == "info" and e["time"] > partition["time"]]
    assert heals and heals[-1]["value"]["fault"] == "all", heals
    assert heals[-1]["value"]["ok"] is True, heals[-1]
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["interrupted"] == "SIGINT"
    assert _leftover_nodes(backend, _run_id(run_dir)) == []
    _assert_check_analyses(run_dir)
    print(f"{backend}: exit 130 {took:.1f} s after SIGINT")


def _connect(ns: str, address: str, port: int) -> bool:
    """A TCP connect from inside node namespace `ns`: True if it completes within 2 s."""
    code = (f"import socket\ntry:\n socket.create_connection(({address!r}, {port}), 2).close()\n"
            f"except OSError:\n raise SystemExit(1)\n")
    proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=20)
    return proc.returncode == 0


@contextlib.contextmanager
def _holding_run(run_id: str):
    """Hold the netns run's lock (taken over from the killed harness), so a concurrent
    `harness cluster down --all` elsewhere on the machine sees a live run, not a leftover."""
    from harness.provision._netns_names import state_dir
    with open(state_dir(run_id) / "lock", "a") as lock:
        deadline = time.monotonic() + 10
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, f"lock of {run_id} still held after SIGKILL"
                time.sleep(0.01)
        yield


def _cut_pair(run_dir: Path, partition: dict) -> tuple[str, str, str]:
    """(source netns, destination address, destination node) of one pair the grudge cuts."""
    hosts = {h["name"]: h for h in json.loads((run_dir / "cluster.json").read_text())["hosts"]}
    src, dsts = next((n, d) for n, d in partition["value"]["grudge"].items() if d)
    return hosts[src]["extra"]["netns"], hosts[dsts[0]]["address"], dsts[0]


def test_sigkill_mid_partition_leaves_it_for_heal_and_a_checkable_history(store):
    run = RunProc("netns", store, seed=12)
    try:
        run_dir, partition = run.wait_for_partition()
        run.proc.send_signal(signal.SIGKILL)
        assert run.proc.wait(timeout=10) == -signal.SIGKILL
        with _holding_run(_run_id(run_dir)):
            assert _open_partition(_history(run_dir)) is not None
            ns, address, dst = _cut_pair(run_dir, partition)
            assert not _connect(ns, address, CONNECT_PORT), f"{ns} -> {dst} still connects"
            healed = _harness("heal", str(run_dir), "--store", str(store))
            assert healed.returncode == 0, healed.stdout + healed.stderr
            assert _connect(ns, address, CONNECT_PORT), f"{ns} -> {dst} after heal"
            _assert_check_analyses(run_dir)
    finally:
        run.stop()
