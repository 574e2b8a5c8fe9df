"""Who owns a docker run: `sweep` spares runs whose harness process is still alive elsewhere."""

import subprocess
import sys

from harness.provision.docker import OWNER_LABEL, _owned_elsewhere, _owner, labels


def test_labels_name_this_process_as_owner():
    assert labels("r1")[OWNER_LABEL] == _owner()


def test_a_live_other_process_owns_its_run_and_a_dead_one_does_not():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owner = _owner(proc.pid)
        assert _owned_elsewhere(owner) is True
        assert _owned_elsewhere(f"{proc.pid}:1.00") is False   # pid reused by another process
    finally:
        proc.kill()
        proc.wait()
    assert _owned_elsewhere(owner) is False


def test_this_process_and_garbage_own_nothing():
    assert _owned_elsewhere(_owner()) is False          # our own runs are ours to sweep
    assert _owned_elsewhere("") is False and _owned_elsewhere("x:y") is False
