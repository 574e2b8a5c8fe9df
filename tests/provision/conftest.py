"""Shared fixtures for the netns/ssh integration tests (root, real namespaces and sshd)."""

import asyncio

import pytest

from harness import cluster_state as cs
from harness.control import close_all, connect_all
from netns_helpers import EMPTY, leftovers


@pytest.fixture(scope="module")
def netns_cluster(tmp_path_factory):
    """A 3-node netns cluster with SSH connections to every node; removed afterwards."""
    run_dir = tmp_path_factory.mktemp("cluster")
    loop = asyncio.new_event_loop()
    cluster = loop.run_until_complete(cs.provision("netns", 3, run_dir, progress=lambda m: None))
    remotes = []
    try:
        remotes = loop.run_until_complete(connect_all(cluster.hosts))
        yield cluster, remotes, loop
    finally:
        loop.run_until_complete(close_all(remotes))
        loop.run_until_complete(cs.teardown(cluster))
        loop.close()
    assert leftovers(cluster.run_id) == EMPTY
