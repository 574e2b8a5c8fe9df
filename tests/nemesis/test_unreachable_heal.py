"""A heal that cannot reach a host reports it and keeps the ledger entry open (no crash)."""

import asyncio
import os

import pytest

from harness.control import LocalRemote, local_host
from nemesis import Ledger, Nemesis

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for ip netns exec")


def test_undo_on_an_unreachable_host_is_an_error_not_a_crash(tmp_path):
    # A namespace that does not exist: every command on this "host" fails for real.
    remote = LocalRemote(local_host("n1"), netns="heliosdb-test-gone-0")
    ledger = Ledger(tmp_path)
    nem = Nemesis({"n1": remote}, ledger, record=lambda e: None, clock=lambda: 0)
    entry = ledger.record("f1", "n1", ["true"], [["true"]])
    errors = asyncio.run(nem.undo([entry]))
    assert len(errors) == 1 and errors[0].startswith("n1: undo failed:")
    assert [e.seq for e in ledger.open_entries()] == [entry.seq]
