"""Choose a provisioning backend by name; `auto` picks docker, then netns (layer: harness).

Backends are imported lazily: the docker backend (and its docker SDK import)
is only loaded when it is asked for or probed.
"""

from __future__ import annotations

import importlib

from harness.errors import BadInput, HarnessError
from harness.provision._base import Backend

BACKENDS = ("auto", "docker", "netns", "ssh")
_CLASSES = {"docker": ("harness.provision.docker", "DockerBackend"),
            "netns": ("harness.provision.netns", "NetnsBackend"),
            "ssh": ("harness.provision.ssh", "SshBackend")}


def backend_class(name: str) -> type[Backend]:
    """The Backend class for `name`; HarnessError if its module is not installed."""
    if name not in _CLASSES:
        raise BadInput(f"--backend: unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
    module, cls = _CLASSES[name]
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise HarnessError(f"backend {name} is not available: {exc}") from None


def availability() -> dict[str, str | None]:
    """docker and netns -> None if usable here, else why not."""
    result = {}
    for name in ("docker", "netns"):
        try:
            result[name] = backend_class(name).unavailable_reason()
        except HarnessError as exc:
            result[name] = str(exc)
    return result


def resolve(name: str, inventory: str | None) -> str:
    """Turn `auto` into a concrete backend name; check the choice can run here."""
    if name not in BACKENDS:
        raise BadInput(f"--backend: unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
    if name == "ssh" or (name == "auto" and inventory):
        if not inventory:
            raise BadInput("--inventory: the ssh backend needs an inventory file")
        return "ssh"
    if inventory:
        raise BadInput(f"--inventory: only the ssh backend uses an inventory, not {name}")
    reasons = availability()
    if name != "auto":
        if reasons[name]:
            raise HarnessError(f"backend {name} cannot run here: {reasons[name]}")
        return name
    for candidate in ("docker", "netns"):
        if reasons[candidate] is None:
            return candidate
    raise HarnessError("no backend can run here: " +
                       "; ".join(f"{n}: {why}" for n, why in reasons.items()) +
                       " (or use --backend ssh --inventory FILE)")


def make_backend(name: str, inventory: str | None = None) -> Backend:
    cls = backend_class(name)
    return cls(inventory) if name == "ssh" else cls()
