"""The result store: one directory per run, written as the run happens (layer: harness).

Layout (DESIGN.md, Store layout):

    store/<case>/<YYYYmmddTHHMMSS>-<seed>/
      case.yaml  run.json  history.jsonl  states.jsonl  results.json  report.txt
      nemesis-schedule.json  nemesis-ledger.jsonl  nodes/<node>/...
    store/latest -> the newest run

Events are appended as JSON lines and flushed at least every FLUSH_S seconds,
so a harness killed at any point leaves a history that `harness check RUN_DIR`
can analyse (a torn last line is skipped by the reader).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

FLUSH_S = 0.05


class JsonlWriter:
    """Append-only JSON Lines file flushed by a background thread every FLUSH_S.

    `write` is cheap (buffered); `close` flushes and fsyncs. Thread-safe, so the
    asyncio loop and signal handlers may both write.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = open(self.path, "a", encoding="utf-8", buffering=1 << 16)
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name=f"flush-{self.path.name}",
                                         daemon=True)
        self._flusher.start()

    def write(self, event: dict) -> None:
        line = json.dumps(event, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            if self._file.closed:
                return
            self._file.write(line)
            self._dirty = True

    def flush(self) -> None:
        with self._lock:
            if self._dirty and not self._file.closed:
                self._file.flush()
                self._dirty = False

    def _flush_loop(self) -> None:
        while not self._closed.wait(FLUSH_S):
            self.flush()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()


class RunDir:
    """A run's directory in the store, created on construction."""

    def __init__(self, store: Path, case_id: str, seed: int, started: float | None = None):
        self.store = Path(store)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(started or time.time()))
        base = self.store / case_id.lower() / f"{stamp}-{seed}"
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}.{n}")
        self.path = path
        (self.path / "nodes").mkdir(parents=True)
        self._point_latest()

    def _point_latest(self) -> None:
        latest = self.store / "latest"
        tmp = self.store / f".latest.{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(self.path.relative_to(self.store))
        os.replace(tmp, latest)

    def file(self, name: str) -> Path:
        return self.path / name

    def node_dir(self, node: str) -> Path:
        d = self.path / "nodes" / node
        d.mkdir(parents=True, exist_ok=True)
        return d

    def write_json(self, name: str, data) -> None:
        """Write atomically (tmp + rename) so a reader never sees half a file."""
        target = self.path / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, default=str)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)


def resolve_run_dir(arg: str | os.PathLike, store: Path | None = None) -> Path | None:
    """A path argument that is a run directory (has history.jsonl), or store/latest."""
    p = Path(arg)
    if p.is_dir() and (p / "history.jsonl").exists():
        return p.resolve()
    return None
