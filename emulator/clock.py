"""The node's wall clock, skewable by the harness for clock faults (layer: emulator shell).

wall() = time.time() + offset. The offset (admin op `set_clock_offset`) moves
everything a real database's wall clock moves here: event timestamps in
events.jsonl, log line times and `status`'s `wall_clock`. Raft timing runs on
the monotonic clock in ticks and uses no leases, so the offset cannot break it.
"""

from __future__ import annotations

import time


class Clock:
    def __init__(self, offset_s: float = 0.0):
        self.offset_s = offset_s

    def wall(self) -> float:
        return time.time() + self.offset_s

    def set_offset_ms(self, offset_ms: float) -> None:
        self.offset_s = offset_ms / 1000.0

    @property
    def offset_ms(self) -> float:
        return self.offset_s * 1000.0
