"""Heal on SIGINT (nemesis_session) and after SIGKILL (`harness heal` from the ledger)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nemesis import read_entries
from nemesis_probes import in_ns, tcp_reachable

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def start_driver(cluster, run_dir):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(HERE / "nemesis_driver.py"),
                             str(cluster.run_dir / "cluster.json"), str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline().strip()
    if line != "partitioned":
        proc.kill()
        raise AssertionError(f"driver did not partition: {line!r} {proc.stderr.read()}")
    return proc


def no_harness_rules(hosts) -> bool:
    return all("HELIOS-NEMESIS" not in in_ns(h, ["iptables", "-w", "-S"]).stdout for h in hosts)


def all_reachable(hosts) -> bool:
    return all(tcp_reachable(a, b) for a in hosts for b in hosts if a is not b)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_partition_heals_before_exit(netns_cluster, tmp_path, sig):
    hosts = netns_cluster.hosts
    proc = start_driver(netns_cluster, tmp_path)
    try:
        assert not tcp_reachable(hosts[0], hosts[1])
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 128 + sig
    finally:
        proc.kill()
        proc.wait()
    assert all_reachable(hosts) and no_harness_rules(hosts)
    assert all(e.state == "healed" for e in read_entries(tmp_path / "nemesis-ledger.jsonl"))


def test_sigkill_mid_partition_then_harness_heal(netns_cluster):
    hosts, run_dir = netns_cluster.hosts, netns_cluster.run_dir
    proc = start_driver(netns_cluster, run_dir)
    proc.kill()
    proc.wait()
    try:
        assert not tcp_reachable(hosts[0], hosts[1])      # the partition outlived the harness
        assert not no_harness_rules(hosts)
        open_before = [e for e in read_entries(run_dir / "nemesis-ledger.jsonl")
                       if e.state != "healed"]
        assert open_before
        out = subprocess.run([sys.executable, "-m", "harness", "heal", str(run_dir)],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "heal: ok" in out.stdout
        assert all_reachable(hosts) and no_harness_rules(hosts)
    finally:
        subprocess.run([sys.executable, "-m", "harness", "heal", str(run_dir)],
                       capture_output=True, timeout=60, cwd=ROOT)
    # Replaying again is harmless: nothing is open any more.
    again = subprocess.run([sys.executable, "-m", "harness", "heal", str(run_dir)],
                           capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert again.returncode == 0 and "0 problem(s)" in again.stdout
