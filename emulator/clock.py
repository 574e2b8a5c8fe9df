"""The node's wall clock, skewable by the harness for clock faults (layer: emulator shell).

wall() = time.time() + offset. The offset (admin op `set_clock_offset`) moves
everything a real database's wall clock moves here: event timestamps in
events.jsonl, log line times and `status`'s `wall_clock`. Raft timing runs on
the monotonic clock in ticks and uses no leases, so the offset cannot break it.

The offset is kept in `DIR/clock_offset` so it survives a restart of the node,
as a skewed host clock would.
"""

from __future__ import annotations

import os
import time

FILE = "clock_offset"


class Clock:
    def __init__(self, offset_s: float = 0.0):
        self.offset_s = offset_s
        self.path: str | None = None

    def attach(self, directory: str) -> None:
        """Load the offset saved in `directory` (if any) and save future changes there."""
        self.path = os.path.join(directory, FILE)
        try:
            with open(self.path) as f:
                self.offset_s = float(f.read().strip() or 0) / 1000.0
        except (FileNotFoundError, ValueError):
            pass

    def wall(self) -> float:
        return time.time() + self.offset_s

    def set_offset_ms(self, offset_ms: float) -> None:
        self.offset_s = offset_ms / 1000.0
        if self.path:
            with open(self.path + ".tmp", "w") as f:
                f.write(repr(float(offset_ms)))
            os.replace(self.path + ".tmp", self.path)

    @property
    def offset_ms(self) -> float:
        return self.offset_s * 1000.0
