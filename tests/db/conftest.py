"""Fixtures for the etcd adapter tests: one real single-member etcd on loopback (the
machine's etcd-server package, which scripts/install adds), and the `harness` CLI."""

import asyncio
import shutil
import socket
import subprocess
import time

import pytest
from etcd_ports import free_port


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    """(address, client port) of a running one-member etcd; stopped after the module."""
    binary = shutil.which("etcd")
    assert binary, "etcd is not installed: scripts/install (apt-get install etcd-server)"
    d = tmp_path_factory.mktemp("etcd")
    cport, pport = free_port(), free_port()
    c, p = f"http://127.0.0.1:{cport}", f"http://127.0.0.1:{pport}"
    proc = subprocess.Popen(
        [binary, "--name", "n1", "--data-dir", str(d / "data"), "--listen-client-urls", c,
         "--advertise-client-urls", c, "--listen-peer-urls", p,
         "--initial-advertise-peer-urls", p, "--initial-cluster", f"n1={p}",
         "--logger", "zap", "--log-outputs", "stderr"],
        stdout=subprocess.DEVNULL, stderr=open(d / "etcd.log", "wb"))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", cport), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError(f"etcd did not listen within 20 s: {(d / 'etcd.log').read_text()[-500:]}")
        yield "127.0.0.1", cport
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def run():
    """Run a coroutine to completion (tests stay plain functions)."""
    return lambda coro: asyncio.run(coro)
