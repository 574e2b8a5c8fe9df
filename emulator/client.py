"""A small blocking client for the node's JSON-lines protocol (layer: emulator shell).

Connects to one node, sends one request at a time and waits for the reply with
a timeout. It follows no redirects: a `not_leader` reply comes back as is, with
`leader` and `leader_addr`. Standard library only, so tests, benchmarks and the
harness's workloads can copy it; docs/protocol.md is the contract.

    with Client("127.0.0.1", 7001) as c:
        c.request({"op": "put", "key": "k", "value": 1})
        # {"id": 1, "ok": true, "lsn": 7, "term": 2, "node": "n1"}

A timeout or a dropped connection raises `ClientError` (outcome unknown: the
caller records `info`); the connection is closed and must be reopened.
"""

from __future__ import annotations

import itertools
import json
import socket


class ClientError(Exception):
    """No reply: timeout, refused or reset connection. The operation's outcome is unknown."""


class Client:
    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.addr = (host, port)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._sock: socket.socket | None = None
        self._buf = b""

    def connect(self) -> "Client":
        try:
            self._sock = socket.create_connection(self.addr, timeout=self.timeout)
        except OSError as e:
            raise ClientError(f"connect to {self.addr[0]}:{self.addr[1]}: {e}") from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    def request(self, req: dict, timeout: float | None = None) -> dict:
        """Send `req` (an `id` is added if absent) and return the reply object."""
        if self._sock is None:
            self.connect()
        req = {"id": next(self._ids), **req}
        try:
            self._sock.settimeout(self.timeout if timeout is None else timeout)
            self._sock.sendall(json.dumps(req).encode() + b"\n")
            return json.loads(self._readline())
        except (OSError, ValueError) as e:
            self.close()
            raise ClientError(f"{self.addr[0]}:{self.addr[1]}: {type(e).__name__}: {e}") from None

    def _readline(self) -> bytes:
        while b"\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("connection closed by the node")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._buf = b""

    def __enter__(self) -> "Client":
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.close()
