"""Batched iptables steps on a real namespace: one transaction when all succeed, and the
step-by-step fallback (per-step results, nothing half-applied) when one fails."""

import asyncio
import os
import subprocess
import uuid

import pytest

from harness.control import LocalRemote, local_host
from nemesis._batch import run_steps

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces")]


@pytest.fixture
def remote():
    ns = f"heliosdb-batch-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        yield LocalRemote(local_host("n1"), netns=ns)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def rules(remote):
    res = asyncio.run(remote.exec(["iptables", "-w", "-S"]))
    return [ln for ln in res.stdout.splitlines() if "TESTCHAIN" in ln]


def test_all_good_steps_apply_and_undo(remote):
    apply = [["iptables", "-w", "-N", "TESTCHAIN"],
             ["iptables", "-w", "-A", "TESTCHAIN", "-s", "10.9.9.9", "-m", "comment",
              "--comment", "heliosdb-harness f1", "-j", "DROP"],
             ["iptables", "-w", "-I", "INPUT", "-j", "TESTCHAIN"]]
    assert asyncio.run(run_steps(remote, apply, stop_on_error=True)) == [(0, "")] * 3
    found = rules(remote)
    assert any('--comment "heliosdb-harness f1"' in r and "10.9.9.9" in r for r in found)
    undo = [["iptables", "-w", "-D", "INPUT", "-j", "TESTCHAIN"],
            ["iptables", "-w", "-F", "TESTCHAIN"], ["iptables", "-w", "-X", "TESTCHAIN"]]
    assert asyncio.run(run_steps(remote, undo, stop_on_error=False)) == [(0, "")] * 3
    assert rules(remote) == []


def test_a_failing_step_falls_back_to_one_by_one(remote):
    steps = [["iptables", "-w", "-N", "TESTCHAIN"],
             ["iptables", "-w", "-D", "INPUT", "-s", "10.9.9.8", "-j", "DROP"],  # not there
             ["iptables", "-w", "-A", "TESTCHAIN", "-s", "10.9.9.9", "-j", "DROP"]]
    results = asyncio.run(run_steps(remote, steps, stop_on_error=False))
    assert [rc == 0 for rc, _ in results] == [True, False, True]
    assert len(rules(remote)) == 2      # -N TESTCHAIN and its rule: applied exactly once
