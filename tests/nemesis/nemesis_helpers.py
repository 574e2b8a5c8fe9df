"""Helpers of the nemesis tests, in a module of its own name: test files import them
from here, not from `conftest` (several test folders have a conftest.py, and which one
`import conftest` finds depends on the order pytest collected the folders in)."""

from __future__ import annotations

import os
import time

from nemesis import Ledger, Nemesis


def _netns_available() -> str | None:
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    from harness.provision.netns import NetnsBackend
    return NetnsBackend.unavailable_reason()


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
