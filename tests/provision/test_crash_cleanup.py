"""`harness cluster up` SIGKILLed mid-way: `cluster down --all` still removes everything."""

import os
import signal
import subprocess
import sys
import time

import pytest

from netns_helpers import EMPTY, leftovers, needs_root

pytestmark = [pytest.mark.slow, needs_root]


def _wait_for_run(store, deadline):
    """The run id, once `up` has made the run's first namespace."""
    while time.monotonic() < deadline:
        runs = [p.name for p in (store / "clusters").glob("*T*") if p.is_dir()]
        if runs and leftovers(runs[0])["netns"]:
            return runs[0]
        time.sleep(0.02)        # polling a subprocess we do not control, bounded by the deadline
    raise AssertionError("cluster up made no namespace within the deadline")


def test_down_all_cleans_up_after_a_killed_up(tmp_path):
    store = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "cluster", "up", "--nodes", "3",
                             "--backend", "netns", "--store", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_id = None
    try:
        run_id = _wait_for_run(store, time.monotonic() + 30)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        assert leftovers(run_id)["netns"], "the kill must leave something to clean"
        res = subprocess.run([sys.executable, "-m", "harness", "cluster", "down", "--all",
                              "--backend", "netns", "--store", str(store)],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        assert run_id in res.stderr
        assert leftovers(run_id) == EMPTY
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if run_id:
            subprocess.run([sys.executable, "-c", "import asyncio,sys;"
                            "from harness.provision._netns_cleanup import remove_run;"
                            "asyncio.run(remove_run(sys.argv[1]))", run_id], timeout=60)
