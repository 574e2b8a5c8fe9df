"""Fixtures: a real netns cluster (the project's netns backend) and a Nemesis over it.

Remotes are LocalRemote(netns=...) from harness.control: commands run inside
each node's namespace exactly as they would over SSH, minus the SSH hop.
Every fixture heals and tears down in finally, even when a test fails.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time

import pytest

from nemesis import Ledger, Nemesis


def _netns_available() -> str | None:
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    from harness.provision.netns import NetnsBackend
    return NetnsBackend.unavailable_reason()


@pytest.fixture(scope="module")
def netns_cluster(tmp_path_factory):
    """A 3-node netns cluster (sshd only, no DB) with its cluster.json record
    written; torn down at module end."""
    why = _netns_available()
    if why:
        pytest.skip(why)
    from harness import cluster_state as cs
    store = tmp_path_factory.mktemp("nemesis-store")
    run_id = f"nemt-{secrets.token_hex(4)}"
    cluster = None
    try:
        cluster = asyncio.run(cs.provision("netns", 3, cs.clusters_dir(store) / run_id,
                                           run_id=run_id, progress=lambda m: None))
        cs.write_record(cluster, store)
        yield cluster
    finally:
        if cluster is not None:
            asyncio.run(cs.teardown(cluster))


@pytest.fixture(scope="module")
def netns_hosts(netns_cluster):
    return netns_cluster.hosts


def local_remotes(hosts) -> dict:
    from harness.control import LocalRemote
    return {h.name: LocalRemote(h, netns=h.extra["netns"]) for h in hosts}


class Events(list):
    def of(self, f, type_=None):
        return [e for e in self if e["f"] == f and (type_ is None or e["type"] == type_)]


def make_nemesis(hosts, run_dir, db=None, events=None) -> tuple[Nemesis, Events]:
    events = Events() if events is None else events
    start = time.monotonic_ns()
    nem = Nemesis(local_remotes(hosts), Ledger(run_dir), record=events.append,
                  clock=lambda: time.monotonic_ns() - start, db=db, probe_timeout=0.3)
    return nem, events


@pytest.fixture
def nemesis(netns_hosts, tmp_path):
    """A Nemesis over the netns cluster; healed (and checked clean) after the test."""
    nem, events = make_nemesis(netns_hosts, tmp_path)
    try:
        yield nem, events
    finally:
        result = asyncio.run(nem.heal())
        assert result["ok"], result
