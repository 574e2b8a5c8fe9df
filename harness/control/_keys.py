"""Per-run SSH keys: the client keypair and node host keys (layer: harness/control).

Every run makes its own ed25519 client keypair and, for hosts the harness
creates, its own host keys, so no run ever trusts a key it did not make or
was not told to pin.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` with mode 0600 from the start (never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def generate_keypair(private_path: Path, comment: str) -> str:
    """Create an ed25519 keypair at `private_path` (0600) and `private_path`.pub.

    Returns the public key line ("ssh-ed25519 AAAA... comment").
    """
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    write_private(private_path, key.export_private_key("openssh"))
    public = key.export_public_key("openssh").decode().strip()
    Path(str(private_path) + ".pub").write_text(public + "\n")
    return public


def public_key_line(public: str) -> str:
    """The "type base64" part of a public key line, without its comment."""
    parts = public.split()
    if len(parts) < 2:
        raise ValueError(f"not an OpenSSH public key line: {public!r}")
    return f"{parts[0]} {parts[1]}"
