"""Progress while a run is going (layer: harness).

On a terminal a rich live panel (elapsed / limit, ops ok / fail / info,
current leader, active faults); otherwise one plain line every few seconds
on stderr, so CI logs show the run is alive. The elapsed time of the panel
and the plain line counts from `start()` (the workload's start), never the
image build or provisioning before it; `say()` lines are stamped with the
time since the run began. `clock` is injectable (tests).
"""

from __future__ import annotations

import sys
import time
from typing import Callable

from rich.console import Console
from rich.live import Live
from rich.table import Table


class Progress:
    PLAIN_EVERY_S = 5.0

    def __init__(self, case_id: str, limit_s: float, quiet: bool = False,
                 clock: Callable[[], float] = time.monotonic):
        self.case_id, self.limit_s, self.quiet, self.clock = case_id, limit_s, quiet, clock
        self.console = Console(stderr=True)
        self.counts = {"ok": 0, "fail": 0, "info": 0}
        self.faults: dict[str, str] = {}
        self.leader: str | None = None
        self.phase = "starting"
        self.started = clock()
        self.workload_started: float | None = None     # set by start()
        self._live: Live | None = None
        self._last_plain = float("-inf")

    def say(self, msg: str) -> None:
        if not self.quiet:
            self.console.print(f"[dim]{self.clock() - self.started:6.1f}s[/] {msg}",
                               highlight=False)

    def on_event(self, event: dict) -> None:
        """Feed every history event: counts completions and tracks active faults."""
        if event.get("process") == "nemesis":
            value = event.get("value") if isinstance(event.get("value"), dict) else {}
            fault = value.get("fault")
            if event.get("type") == "info" and event.get("f") == "heal":
                if fault == "all":
                    self.faults.clear()
                else:
                    self.faults.pop(fault, None)
            elif event.get("type") == "info" and fault and "error" not in value:
                self.faults[fault] = _describe(event["f"], value)
        elif event.get("type") in self.counts:
            self.counts[event["type"]] += 1

    def _table(self) -> Table:
        t = Table.grid(padding=(0, 2))
        t.add_row(f"[bold]{self.case_id}[/]", self.phase,
                  f"{self.elapsed():.0f}s / {self.limit_s:.0f}s")
        t.add_row("ops", f"ok {self.counts['ok']}  fail {self.counts['fail']}  "
                  f"info {self.counts['info']}", f"leader {self.leader or '-'}")
        t.add_row("faults", "; ".join(self.faults.values()) or "none", "")
        return t

    def elapsed(self) -> float:
        """Seconds since the workload started (0 before `start()`)."""
        return 0.0 if self.workload_started is None else self.clock() - self.workload_started

    def status_line(self) -> str:
        c = self.counts
        return (f"[{self.case_id}] {self.phase} {self.elapsed():.0f}s/{self.limit_s:.0f}s "
                f"ok={c['ok']} fail={c['fail']} info={c['info']} "
                f"leader={self.leader or '-'} faults={len(self.faults)}")

    def start(self) -> None:
        """The workload starts now: elapsed times count from here."""
        if self.workload_started is None:
            self.workload_started = self.clock()
        if not self.quiet and self.console.is_terminal:
            self._live = Live(self._table(), console=self.console, refresh_per_second=4,
                              transient=True)
            self._live.start()

    def tick(self, leader: str | None) -> None:
        self.leader = leader
        if self._live is not None:
            self._live.update(self._table())
        elif not self.quiet and self.clock() - self._last_plain >= self.PLAIN_EVERY_S:
            self._last_plain = self.clock()
            print(self.status_line(), file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def _describe(f: str, value: dict) -> str:
    if value.get("shape"):
        return f"{f} {value['shape']}" + (f" {value['node']}" if value.get("node") else "")
    if value.get("nodes"):
        return f"{f} {','.join(value['nodes'])}"
    return f
