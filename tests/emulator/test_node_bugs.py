"""Each planted shell bug, shown by the fault scenario that exposes it, paired with the
same scenario on a correct node. Slow: real clusters; stale-read needs root and iptables."""

import os
import shutil
import signal
import subprocess

import pytest

from emulator_cluster import Cluster, wait_for

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("bug", [True, False], ids=["early-ack", "correct"])
def test_early_ack_acknowledges_a_write_no_follower_has(tmp_path, bug):
    """Both followers paused: a correct leader cannot commit, so it never acks; with
    early-ack it acks. Then the leader dies and the paused followers crash and restart:
    the acknowledged write is lost (RPO > 0). (Merely resuming them is not enough: the
    kernel already queued the leader's append in their sockets while they were stopped.)"""
    c = Cluster(tmp_path, 3, bugs=("early-ack",) if bug else ())
    try:
        c.start_all()
        ld = c.leader()
        assert c.request(ld, {"op": "put", "key": "k", "value": 1})["ok"]
        followers = [n for n in c.ids if n != ld]
        for f in followers:
            wait_for(lambda: c.status(f)["applied"] >= 2, 5, f"{f} to apply")
            c.signal(f, signal.SIGSTOP)
        r = c.request(ld, {"op": "put", "key": "k", "value": 2}, timeout=1.5)
        acked = bool(r and r["ok"])
        c.kill(ld)
        for f in followers:
            c.kill(f)
            c.start(f)
        new = c.leader(among=followers)
        final = c.request(new, {"op": "get", "key": "k"})
        assert final["ok"] and final["value"] == 1
        assert acked is bug, r
    finally:
        c.close()


@pytest.mark.parametrize("bug", [True, False], ids=["no-fsync", "correct"])
def test_no_fsync_loses_acked_writes_on_power_cut(tmp_path, bug):
    """Write, SIGKILL every node right after the ack, restart: a correct WAL still has the
    write; with no-fsync it was only in process memory. The bug's buffer reaches the file
    once a second, so a write just before a flush may survive: up to 3 tries."""
    c = Cluster(tmp_path, 3, bugs=("no-fsync",) if bug else ())
    outcomes = []
    try:
        c.start_all()
        for attempt in range(3 if bug else 2):
            ld = c.leader()
            assert c.request(ld, {"op": "put", "key": f"k{attempt}", "value": attempt})["ok"]
            c.kill_all()
            c.start_all()
            r = c.request(c.leader(), {"op": "get", "key": f"k{attempt}"})
            assert r["ok"]
            outcomes.append(r["value"] == attempt)
            if bug and not outcomes[-1]:
                break
        assert (False in outcomes) is bug, outcomes
    finally:
        c.close()


def _iptables(*args: str) -> None:
    subprocess.run(["iptables", "-w", *args], check=True, capture_output=True, timeout=20)


@pytest.fixture
def chain():
    if os.geteuid() != 0 or not shutil.which("iptables"):
        pytest.skip("needs root and iptables")
    name = f"EMU-STALE-{os.getpid()}"[:28]
    _iptables("-N", name)
    try:
        _iptables("-I", "INPUT", "-j", name)
        try:
            yield name
        finally:
            _iptables("-D", "INPUT", "-j", name)
    finally:
        _iptables("-F", name)
        _iptables("-X", name)


@pytest.mark.parametrize("bug", [True, False], ids=["stale-read", "correct"])
def test_stale_read_from_an_isolated_follower(tmp_path, chain, bug):
    """Cut one follower off from its peers (iptables on its 127.x address pairs; the test's
    client still reaches it), write through the leader, read from the follower: stale
    with the bug, not_leader (or the new value) without."""
    c = Cluster(tmp_path, 3, bugs=("stale-read",) if bug else (), prefix="127.88.0.")
    try:
        c.start_all()
        ld = c.leader()
        assert c.request(ld, {"op": "put", "key": "k", "value": 1})["ok"]
        f = next(n for n in c.ids if n != ld)
        wait_for(lambda: c.status(f)["applied"] >= 2, 5, "follower to apply")
        for other in (n for n in c.ids if n != f):
            for src, dst in ((f, other), (other, f)):
                _iptables("-A", chain, "-s", c.addr[src][0], "-d", c.addr[dst][0], "-j", "DROP")
        assert c.request(ld, {"op": "put", "key": "k", "value": 2})["ok"]
        r = c.request(f, {"op": "get", "key": "k"})
        if bug:
            assert (r["ok"], r["value"], r["node"]) == (True, 1, f)
        else:
            assert (r["ok"], r["error"], r["definite"]) == (False, "not_leader", True), r
    finally:
        c.close()
