"""Region store: a backup-store service on a region host (layer: emulator shell).

`python3 -m emulator region-store --name r1 --dir DIR --listen HOST:PORT` keeps
copies of the nodes' backup repositories, one per source node under
`DIR/<node>/` with the repository layout (docs/protocol.md "Region stores"), so
`python3 -m emulator verify --repo DIR/<node>` and restore work on a region copy.
JSON lines over TCP, one request at a time per connection:

- put: {"op": "put", "node", "path", "size", "blake3", "data": base64}: the bytes
  are checked against size and BLAKE3 (and a manifest against its own checksum)
  before anything is written; then written atomically (tmp, fsync, rename, fsync
  dir), its arrival appended to DIR/arrivals.jsonl (fsynced), and only then the
  reply {"ok": true, "arrived": wall time}.
- have: {"op": "have", "node"}: {"ok", "files": {path: blake3}} of what it holds.
- get: {"op": "get", "node", "path"}: {"ok", "data": base64} of the file as it is on
  disk now (a repairer must verify it), or `not_found`.
- status: {"ok", "region", "wall_clock", "nodes": {node: {"backups": {id: {created,
  arrived, end_lsn}}, "segments": count held, "archived_lsn": greatest last LSN held}}}.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import sys
import time

from blake3 import blake3

from . import repo as R
from .errors import EXIT_BAD_START, StartupError
from .options import parse_addr

PATH_RE = re.compile(r"^(backups/[A-Za-z0-9_.-]+/(chunk-\d{6}|manifest\.json)"
                     r"|archive/\d{12}-\d{12}\.(seg|json))$")
NODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
LINE_LIMIT = 64 * 1024 * 1024


class RegionStore:
    """What one region holds: files by node and path, and the arrival of each."""

    def __init__(self, name: str, directory: str):
        self.name, self.dir = name, os.path.abspath(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.files: dict[str, dict[str, str]] = {}          # node -> path -> blake3
        self.items: dict[str, dict[str, dict]] = {}         # node -> kind -> key -> info
        self._log = os.path.join(self.dir, "arrivals.jsonl")
        self._load()

    def _load(self) -> None:
        try:
            with open(self._log, "rb") as f:
                for line in f:
                    try:
                        a = json.loads(line)
                    except ValueError:
                        continue          # a torn last line: that put was never acknowledged
                    self._note(a["node"], a["path"], a["blake3"], a["t"], None)
        except FileNotFoundError:
            pass

    def _note(self, node: str, path: str, digest: str, t: float, data: bytes | None) -> None:
        self.files.setdefault(node, {})[path] = digest
        if not path.endswith(("manifest.json", ".json")):
            return
        if data is None:
            try:
                with open(os.path.join(self.dir, node, path), "rb") as f:
                    data = f.read()
            except OSError:
                return
        try:
            m = json.loads(data)
        except ValueError:
            return
        kind = "backups" if path.startswith("backups/") else "segments"
        key = m.get("id") if kind == "backups" else path[len("archive/"):-5]
        self.items.setdefault(node, {}).setdefault(kind, {})[key] = {
            "created": m.get("created"), "arrived": t,
            "end_lsn": m.get("end_lsn", m.get("last_lsn"))}

    def put(self, req: dict) -> dict:
        node, path = req.get("node"), req.get("path")
        if not isinstance(node, str) or not NODE_RE.match(node):
            return _err("bad_request", f"node {node!r} is not a node name")
        if not isinstance(path, str) or not PATH_RE.match(path):
            return _err("bad_request", f"path {path!r} is not a repository file")
        try:
            data = base64.b64decode(req.get("data", ""), validate=True)
        except (ValueError, TypeError):
            return _err("bad_request", "data is not base64")
        found = blake3(data).hexdigest()
        if len(data) != req.get("size") or found != req.get("blake3"):
            return _err("corrupt", f"{node}/{path}: size {len(data)} blake3 {found[:16]}... "
                        f"does not match the sender's {req.get('size')} "
                        f"{str(req.get('blake3'))[:16]}...")
        if path.endswith(".json") and not _manifest_ok(data):
            return _err("corrupt", f"{node}/{path}: manifest checksum mismatch")
        target = os.path.join(self.dir, node, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        R.fsync_dir(os.path.dirname(os.path.dirname(target)))
        R.write_atomic(target, data)
        t = round(time.time(), 6)
        with open(self._log, "ab") as f:
            f.write(json.dumps({"node": node, "path": path, "blake3": found, "size": len(data),
                                "t": t}).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        self._note(node, path, found, t, data)
        return {"ok": True, "arrived": t}

    def get(self, req: dict) -> dict:
        """The bytes of a held file as they are on disk now (a repairer verifies them)."""
        node, path = req.get("node"), req.get("path")
        if not isinstance(node, str) or not NODE_RE.match(node) or not isinstance(path, str) \
                or not PATH_RE.match(path):
            return _err("bad_request", f"no such repository file {node!r} {path!r}")
        try:
            with open(os.path.join(self.dir, node, path), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return _err("not_found", f"{node}/{path}: not held")
        return {"ok": True, "data": base64.b64encode(data).decode()}

    def status(self) -> dict:
        return {"ok": True, "region": self.name, "wall_clock": time.time(),
                "nodes": {n: {"backups": v.get("backups", {}),
                              "segments": len(v.get("segments", {})),
                              "archived_lsn": max((i["end_lsn"] or 0 for i in
                                                   v.get("segments", {}).values()), default=0)}
                          for n, v in self.items.items()}}

    def handle(self, req: dict) -> dict:
        op = req.get("op")
        if op == "put":
            return self.put(req)
        if op == "have":
            return {"ok": True, "files": dict(self.files.get(req.get("node"), {}))}
        if op == "status":
            return self.status()
        if op == "get":
            return self.get(req)
        return _err("bad_request", f"unknown op {op!r}")


def _manifest_ok(data: bytes) -> bool:
    try:
        return R.checksum_ok(json.loads(data))
    except ValueError:
        return False


def _err(code: str, message: str) -> dict:
    return {"ok": False, "error": code, "definite": True, "message": message}


async def _serve(store: RegionStore, host: str, port: int) -> None:
    async def conn(reader, writer):
        try:
            while line := await reader.readline():
                try:
                    req = json.loads(line)
                    reply = store.handle(req) if isinstance(req, dict) else _err(
                        "bad_request", "a request is a JSON object")
                except ValueError:
                    reply = _err("bad_request", "not JSON")
                except OSError as e:
                    reply = _err("io_error", str(e))
                writer.write(json.dumps(reply, separators=(",", ":")).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()
    server = await asyncio.start_server(conn, host, port, limit=LINE_LIMIT)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m emulator region-store")
    p.add_argument("--name", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--listen", required=True)
    try:
        a = p.parse_args(argv)
        host, port = parse_addr(a.listen, "--listen")
        store = RegionStore(a.name, a.dir)
    except (StartupError, OSError) as e:
        print(f"emulator region-store: {e}", file=sys.stderr)
        return EXIT_BAD_START
    try:
        asyncio.run(_serve(store, host, port))
    except OSError as e:
        print(f"emulator region-store: --listen {a.listen}: {e}", file=sys.stderr)
        return EXIT_BAD_START
    except KeyboardInterrupt:
        pass
    return 0
