"""The node's error registry: every error code a reply can carry (layer: emulator shell).

One table, each code with its `definite` flag (STYLE.md 5): `definite: true`
means the operation certainly did not take effect (a client records `fail`);
`definite: false` means it may or may not have (a client records `info`).
docs/protocol.md's error table is generated from this registry by
`python -m emulator.errors` and a test checks they agree.

Also the start-up failures (`StartupError`, exit 254) and WAL corruption.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

EXIT_BAD_START = 254


@dataclass(frozen=True)
class ErrorCode:
    code: str
    definite: bool
    meaning: str


REGISTRY: dict[str, ErrorCode] = {e.code: e for e in (
    ErrorCode("bad_request", True,
              "The request is not valid JSON, lacks a field or has a field of the wrong type; "
              "`message` names the field. Nothing was done."),
    ErrorCode("unknown_op", True, "The `op` is not one this node serves. Nothing was done."),
    ErrorCode("not_leader", True,
              "This node is not the leader; `leader` and `leader_addr` name the node it believes "
              "leads (null if unknown). Retry there. Nothing was done."),
    ErrorCode("precondition_failed", True,
              "cas: the key's current value (in `value`) is not `from`. Nothing was written."),
    ErrorCode("wrong_type", True,
              "append: the key holds a value that is not a list. Nothing was written."),
    ErrorCode("backup_busy", True,
              "backup: `--backup-max-concurrent` backups are already running on this node. "
              "No backup was started; retry later."),
    ErrorCode("backup_not_found", True,
              "backup/verify/restore: the `parent` or `backup` id names no backup in the "
              "repository (or there is none to be the parent). Nothing was done."),
    ErrorCode("backup_empty", True,
              "backup: no committed record after the parent's `end_lsn` yet, so an incremental "
              "would be empty. Nothing was written."),
    ErrorCode("backup_range", True,
              "backup: this node cannot produce the records after the parent (its applied LSN "
              "is behind the parent's end, or its archive has a gap there). Nothing was "
              "written; take a full backup."),
    ErrorCode("backup_failed", True,
              "backup: an I/O error while writing; the partial backup was removed, nothing is "
              "listed."),
    ErrorCode("target_out_of_range", True,
              "restore: the target LSN or time is outside what the repository can restore "
              "(`restorable` gives the ranges). Nothing was restored."),
    ErrorCode("backup_corrupt", True,
              "restore: a manifest, chunk or archive segment the restore needs fails its "
              "checksum or lacks a record (`message` names it). Nothing was restored."),
    ErrorCode("leadership_lost", False,
              "The node stopped being leader while the operation was in flight; it may still "
              "commit under the new leader."),
    ErrorCode("superseded", False,
              "A different entry committed at the log index this write was given (leader "
              "change). This write was not applied at that index, but a retry elsewhere or a "
              "later re-proposal cannot be ruled out by the client."),
    ErrorCode("timeout", False,
              "The node did not see the operation committed within its deadline; it may "
              "still commit."),
    ErrorCode("shutting_down", False,
              "The node is stopping; an in-flight write may or may not have committed."),
    ErrorCode("internal", False, "A bug in the node; the operation's outcome is unknown."),
)}


class NodeError(Exception):
    """An error reply: `code` from REGISTRY plus extra reply fields (leader, value...)."""

    def __init__(self, code: str, message: str = "", **fields):
        if code not in REGISTRY:
            raise KeyError(f"error code {code!r} is not in emulator.errors.REGISTRY")
        super().__init__(message or code)
        self.code = code
        self.message = message or code
        self.fields = fields

    def reply(self) -> dict:
        return {"ok": False, "error": self.code, "definite": REGISTRY[self.code].definite,
                "message": self.message, **self.fields}


class StartupError(Exception):
    """The node cannot start (bad flags, foreign data dir, listen address, corrupt WAL): exit 254."""


class WalCorrupt(StartupError):
    """A record in the middle of the WAL fails its checksum: refuse to start (never guess)."""

    def __init__(self, path: str, offset: int, why: str):
        super().__init__(
            f"WAL corrupt: {path} at offset {offset}: {why}; records after it exist, so this "
            f"is not a torn tail and the node refuses to guess. Restore the data directory "
            f"from a backup or wipe it so the node rejoins and catches up from the leader")
        self.path = path
        self.offset = offset


def markdown_table() -> str:
    """The error table of docs/protocol.md, generated from REGISTRY."""
    lines = ["| code | definite | meaning |", "|---|---|---|"]
    for e in REGISTRY.values():
        lines.append(f"| `{e.code}` | {'true' if e.definite else 'false'} | {e.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_table())
