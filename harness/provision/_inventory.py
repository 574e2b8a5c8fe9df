"""Inventory YAML for the ssh backend: parse and validate before connecting (layer: harness).

```yaml
known_hosts: ~/.ssh/known_hosts      # optional; where unpinned host keys are looked up
hosts:
  - name: n1                         # required, [a-z0-9-], unique
    host: lab1.example.org           # required: where sshd is reached
    port: 22                         # optional, default 22
    user: root                       # required
    key: ~/.ssh/id_ed25519           # required: private key that logs in
    sudo: false                      # optional, default false
    region: eu-west                  # optional
    address: 10.1.0.5                # optional: cluster address if it differs from host
    host_key: "ssh-ed25519 AAAA..."  # optional: pin the host key instead of known_hosts
    workdir: /var/lib/heliosdb-harness  # optional base directory on the host
```

Every problem is a BadInput naming the file, the entry and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import yaml

from harness.errors import BadInput

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
_FIELDS = {"name", "host", "port", "user", "key", "sudo", "region", "address", "host_key",
           "workdir"}
_REQUIRED = ("name", "host", "user", "key")
DEFAULT_WORKDIR = "/var/lib/heliosdb-harness"


@dataclass(frozen=True)
class InventoryHost:
    name: str
    host: str
    user: str
    key: str
    port: int = 22
    sudo: bool = False
    region: str | None = None
    address: str | None = None
    host_key: str | None = None
    workdir: str = DEFAULT_WORKDIR


@dataclass(frozen=True)
class Inventory:
    path: str
    hosts: tuple[InventoryHost, ...]
    known_hosts: str | None = None


def load_inventory(path: str | Path) -> Inventory:
    """Read and fully validate an inventory file; raise BadInput naming file, entry, field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise BadInput(f"inventory {path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"inventory {path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), list) or not data["hosts"]:
        raise BadInput(f"inventory {path}: field 'hosts' must be a non-empty list of hosts")
    extra = set(data) - {"hosts", "known_hosts"}
    if extra:
        raise BadInput(f"inventory {path}: unknown top-level field {sorted(extra)[0]!r} "
                       "(allowed: hosts, known_hosts)")
    known = data.get("known_hosts")
    if known is not None and not isinstance(known, str):
        raise BadInput(f"inventory {path}: field 'known_hosts' must be a path string")
    hosts = tuple(_host(path, i, entry) for i, entry in enumerate(data["hosts"]))
    _check_unique(path, hosts)
    return Inventory(str(path), hosts, os.path.expanduser(known) if known else None)


def _host(path: Path, i: int, entry) -> InventoryHost:
    where = f"inventory {path}: hosts[{i}]"
    if not isinstance(entry, dict):
        raise BadInput(f"{where}: must be a mapping with fields {', '.join(_REQUIRED)}")
    if isinstance(entry.get("name"), str):
        where += f" ({entry['name']})"
    unknown = set(entry) - _FIELDS
    if unknown:
        raise BadInput(f"{where}: unknown field {sorted(unknown)[0]!r} "
                       f"(allowed: {', '.join(sorted(_FIELDS))})")
    for field in _REQUIRED:
        if not isinstance(entry.get(field), str) or not entry[field].strip():
            raise BadInput(f"{where}: field {field!r} is required and must be a non-empty string")
    _check_fields(where, entry)
    key = os.path.expanduser(entry["key"])
    if not os.access(key, os.R_OK):
        raise BadInput(f"{where}: field 'key': cannot read private key file {key}")
    return InventoryHost(
        name=entry["name"], host=entry["host"], user=entry["user"], key=key,
        port=entry.get("port", 22), sudo=entry.get("sudo", False), region=entry.get("region"),
        address=entry.get("address"), host_key=entry.get("host_key"),
        workdir=entry.get("workdir", DEFAULT_WORKDIR))


def _check_fields(where: str, entry: dict) -> None:
    if not _NAME_RE.match(entry["name"]):
        raise BadInput(f"{where}: field 'name' must match {_NAME_RE.pattern}, got {entry['name']!r}")
    port = entry.get("port", 22)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise BadInput(f"{where}: field 'port' must be an integer 1..65535, got {port!r}")
    if not isinstance(entry.get("sudo", False), bool):
        raise BadInput(f"{where}: field 'sudo' must be true or false, got {entry['sudo']!r}")
    for field in ("region", "address", "host_key", "workdir"):
        if field in entry and not isinstance(entry[field], str):
            raise BadInput(f"{where}: field {field!r} must be a string, got {entry[field]!r}")
    if "workdir" in entry and not entry["workdir"].startswith("/"):
        raise BadInput(f"{where}: field 'workdir' must be an absolute path, got {entry['workdir']!r}")
    if "host_key" in entry:
        try:
            asyncssh.import_public_key(entry["host_key"])
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise BadInput(f"{where}: field 'host_key' is not an OpenSSH public key: {exc}") from None


def _check_unique(path: Path, hosts: tuple[InventoryHost, ...]) -> None:
    seen: set[str] = set()
    for i, h in enumerate(hosts):
        if h.name in seen:
            raise BadInput(f"inventory {path}: hosts[{i}]: field 'name': duplicate name {h.name!r}")
        seen.add(h.name)
