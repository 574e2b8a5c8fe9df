"""Loopback ports for one-member etcd clusters in tests (layer: tests)."""

import socket


def free_port() -> int:
    """A loopback port nothing listens on right now (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
