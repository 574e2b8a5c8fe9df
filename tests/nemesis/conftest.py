"""Fixtures: a real netns cluster (the project's netns backend) and a Nemesis over it.

Remotes are LocalRemote(netns=...) from harness.control: commands run inside
each node's namespace exactly as they would over SSH, minus the SSH hop.
Every fixture heals and tears down in finally, even when a test fails.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest

from nemesis_helpers import _netns_available, make_nemesis


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


@pytest.fixture
def nemesis(netns_hosts, tmp_path):
    """A Nemesis over the netns cluster; healed (and checked clean) after the test."""
    nem, events = make_nemesis(netns_hosts, tmp_path)
    try:
        yield nem, events
    finally:
        result = asyncio.run(nem.heal())
        assert result["ok"], result
