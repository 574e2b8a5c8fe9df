"""events.jsonl: the node's lifecycle events with wall-clock times (layer: emulator shell).

One JSON object per line, flushed at once, so the harness can read it even
after a kill -9: {"ts": wall-clock seconds (with the clock offset), "node": id,
"kind": ..., "term": ..., "detail": {...}}. Kinds: the core's (became_follower,
became_pre_candidate, became_candidate, became_leader, election_timeout,
check_quorum_step_down, snapshot_installed, vote_granted) plus the shell's
(started, wal_recovered, snapshot_taken, stopped).
"""

from __future__ import annotations

import json
import os

from .clock import Clock

FILE = "events.jsonl"


class EventLog:
    def __init__(self, directory: str, node: str, clock: Clock):
        self.node, self.clock = node, clock
        self._f = open(os.path.join(directory, FILE), "a", buffering=1)

    def write(self, kind: str, term: int, **detail) -> None:
        rec = {"ts": round(self.clock.wall(), 6), "node": self.node, "kind": kind,
               "term": term, "detail": detail}
        self._f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()
