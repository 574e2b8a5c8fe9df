"""Helpers for the netns/ssh integration tests: list a run's leftovers with the real tools."""

import os
import subprocess

import pytest

from harness.provision import _netns_names as nm

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="netns backend needs root")


def leftovers(run_id: str) -> dict:
    """Everything of this run still visible on the machine, listed with the real tools."""
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    procs = subprocess.run(["pgrep", "-f", run_id], capture_output=True, text=True).stdout
    rules = subprocess.run(["iptables", "-w", "10", "-S", "FORWARD"], capture_output=True,
                           text=True).stdout
    return {"netns": [n for n in ns.split() if run_id in n],
            "links": [l.split()[0] for l in links.splitlines() if nm.bridge_name(run_id) in l],
            "processes": procs.split(),
            "rules": [r for r in rules.splitlines() if run_id in r],
            "state_dir": nm.state_dir(run_id).exists()}


EMPTY = {"netns": [], "links": [], "processes": [], "rules": [], "state_dir": False}
