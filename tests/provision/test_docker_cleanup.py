"""Nothing outlives a docker run: down, a failed up, and sweep after a SIGKILLed harness.

Slow: real Docker engine. Note that sweep() removes every run's leftovers by
label, as `harness cluster down --all` does; do not run this next to a docker
cluster you want to keep.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import harness.provision.docker as docker_backend
from harness.errors import HarnessError
from harness.provision.docker import DockerBackend
from dockertest_util import engine, labelled, make_spec, new_run_id

pytestmark = pytest.mark.slow


@pytest.fixture
def run_id():
    """A fresh run id whose resources are removed however the test ends."""
    rid = new_run_id("d")
    try:
        yield rid
    finally:
        asyncio.run(DockerBackend().down(rid))


def test_down_leaves_no_container_or_network(run_id, tmp_path):
    client = engine()
    backend = DockerBackend()
    spec, _key = make_spec(run_id, 2, tmp_path)
    hosts = asyncio.run(backend.up(spec, lambda _m: None))
    containers, networks = labelled(client, run_id)
    assert (len(hosts), len(containers), len(networks)) == (2, 2, 1)
    asyncio.run(backend.down(run_id))
    assert labelled(client, run_id) == ([], [])
    asyncio.run(backend.down(run_id))                   # idempotent
    assert labelled(client, run_id) == ([], [])


def test_failed_up_removes_what_it_made(run_id, tmp_path, monkeypatch):
    """sshd never answering (simulated at the wait) makes up fail and clean up."""
    made: list[int] = []

    async def never_answers(name, address, port=22, timeout=0.0):
        made.append(len(labelled(engine(), run_id)[0]))
        raise HarnessError(f"{name}: sshd at {address}:{port} did not answer")

    monkeypatch.setattr(docker_backend, "wait_for_sshd", never_answers)
    spec, _key = make_spec(run_id, 2, tmp_path)
    with pytest.raises(HarnessError, match="did not answer"):
        asyncio.run(DockerBackend().up(spec, lambda _m: None))
    assert made and made[0] == 2                        # the containers existed...
    assert labelled(engine(), run_id) == ([], [])       # ...and are gone


def test_cancelled_up_removes_what_it_made(run_id, tmp_path, monkeypatch):
    """Ctrl-C (task cancellation) while up waits for sshd leaves nothing behind."""
    async def scenario():
        waiting = asyncio.Event()

        async def hang(name, address, port=22, timeout=0.0):
            waiting.set()
            await asyncio.sleep(3600)

        monkeypatch.setattr(docker_backend, "wait_for_sshd", hang)
        spec, _key = make_spec(run_id, 3, tmp_path)
        task = asyncio.create_task(DockerBackend().up(spec, lambda _m: None))
        async with asyncio.timeout(300):
            await waiting.wait()
        present = len(labelled(engine(), run_id)[0])
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return present

    assert asyncio.run(scenario()) == 3
    assert labelled(engine(), run_id) == ([], [])


_CHILD = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    import harness.provision.docker as d
    from harness.provision._base import ClusterSpec

    async def hang(name, address, port=22, timeout=0.0):
        print("waiting", name, flush=True)       # containers exist; harness "hangs"
        await asyncio.sleep(3600)

    d.wait_for_sshd = hang
    spec = ClusterSpec(run_id=sys.argv[1], nodes=3, run_dir=Path(sys.argv[2]),
                       public_key=sys.argv[3])
    asyncio.run(d.DockerBackend().up(spec, lambda m: None))
""")


def test_sweep_after_the_harness_is_sigkilled_mid_up(run_id, tmp_path):
    client = engine()
    spec, _key = make_spec(run_id, 3, tmp_path)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, run_id, str(tmp_path),
                              spec.public_key], stdout=subprocess.PIPE)
    try:
        _wait_for_line(child, "waiting", timeout=300)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    containers, networks = labelled(client, run_id)
    assert len(containers) == 3 and len(networks) == 1  # what the killed run left
    swept = asyncio.run(DockerBackend().sweep())
    assert run_id in swept
    assert labelled(client, run_id) == ([], [])


def test_sweep_skips_a_run_the_same_backend_is_bringing_up(run_id, tmp_path, monkeypatch):
    backend = DockerBackend()
    spec, _key = make_spec(run_id, 1, tmp_path)
    swept_during: list[list[str]] = []
    real_wait = docker_backend.wait_for_sshd

    async def sweep_then_wait(name, address, port=22, timeout=20.0):
        swept_during.append(await backend.sweep())
        await real_wait(name, address, port, timeout)

    monkeypatch.setattr(docker_backend, "wait_for_sshd", sweep_then_wait)
    hosts = asyncio.run(backend.up(spec, lambda _m: None))
    assert run_id not in swept_during[0]
    assert len(hosts) == 1 and len(labelled(engine(), run_id)[0]) == 1


def _wait_for_line(proc: subprocess.Popen, word: str, timeout: float) -> None:
    """Read the child's stdout until a line starts with `word`; fail on exit or timeout."""
    deadline = time.monotonic() + timeout
    fd, buf = proc.stdout.fileno(), b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            buf += os.read(fd, 4096)
        if any(line.startswith(word.encode()) for line in buf.splitlines()):
            return
        if not ready and proc.poll() is not None:
            pytest.fail(f"child exited {proc.returncode} before '{word}': {buf!r}")
    pytest.fail(f"no '{word}' from the child within {timeout} s: {buf!r}")
