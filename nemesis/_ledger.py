"""The fault ledger: a write-ahead journal of undo actions (layer: nemesis).

`<run_dir>/nemesis-ledger.jsonl`, JSON lines, append-only. Before a fault
step touches a host, its entry is appended and fsynced:

    {"seq": 3, "fault": "f2", "host": "n1", "apply": [...], "undo": [[...], ...],
     "state": "pending"}

and later a state line `{"seq": 3, "state": "applied"|"healed"}` is
appended. The last state of a seq wins. An undo step is either an argv list
(run on `host` through its Remote) or a dict `{"db": "resume"|"start"|
"clock", ...}` (run through the DB adapter). Anything not "healed" may be
in effect, so a heal, including `harness heal` after the harness was
SIGKILLed, replays its undo steps in reverse seq order.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

FILE = "nemesis-ledger.jsonl"


@dataclass
class Entry:
    seq: int
    fault: str
    host: str
    apply: object
    undo: list
    state: str = "pending"
    extra: dict = field(default_factory=dict)


class Ledger:
    """Append-only journal; every append is fsynced before it returns."""

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._entries = {e.seq: e for e in read_entries(self.path)}
        self._next = max(self._entries, default=0) + 1

    def _append(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def record(self, fault: str, host: str, apply, undo: list, **extra) -> Entry:
        """Journal a step as pending (durably) before the caller applies it."""
        entry = Entry(self._next, fault, host, apply, list(undo), "pending", extra)
        self._next += 1
        self._append({"seq": entry.seq, "fault": fault, "host": host, "apply": apply,
                      "undo": entry.undo, "state": "pending", **extra})
        self._entries[entry.seq] = entry
        return entry

    def mark(self, entry: Entry, state: str) -> None:
        if state not in ("applied", "healed"):
            raise ValueError(f"ledger state must be applied or healed, got {state!r}")
        self._append({"seq": entry.seq, "state": state})
        entry.state = state

    def open_entries(self, fault: str | None = None) -> list[Entry]:
        """Entries not yet healed (optionally of one fault), newest first: the undo order."""
        return sorted((e for e in self._entries.values()
                       if e.state != "healed" and (fault is None or e.fault == fault)),
                      key=lambda e: -e.seq)


def read_entries(path: Path) -> list[Entry]:
    """Parse a ledger file; a torn last line (crash mid-write) is ignored."""
    if not path.exists():
        return []
    entries: dict[int, Entry] = {}
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        seq = rec.get("seq")
        if "host" in rec:
            known = {"seq", "fault", "host", "apply", "undo", "state"}
            entries[seq] = Entry(seq, rec.get("fault", ""), rec["host"], rec.get("apply"),
                                 rec.get("undo", []), rec.get("state", "pending"),
                                 {k: v for k, v in rec.items() if k not in known})
        elif seq in entries:
            entries[seq].state = rec.get("state", entries[seq].state)
    return list(entries.values())
