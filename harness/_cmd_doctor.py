"""`harness doctor`: what this machine can run, what is missing and how to get it (layer: harness).

Kernel features are probed for real in a throwaway network namespace
(named like a netns run, heliosdb-doctor-<hex>-n0, so a crashed doctor's
namespace is swept by `cluster down --all`): netem
and tbf qdiscs on a veth pair, a dummy interface and a bridge. Exit 0 if the default backend
(`--backend auto`) can run here, 255 otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass

from harness.control import run_local
from harness.errors import EXIT_HARNESS, HarnessError
from harness.provision._select import resolve


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("doctor", help="check what this machine can run and what is missing")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    checks, default = asyncio.run(_all_checks())
    if args.json:
        print(json.dumps({"default_backend": default, "checks": [asdict(c) for c in checks]},
                         indent=2))
    else:
        for c in checks:
            print(f"{'ok ' if c.ok else 'MISSING'} {c.name:22} {c.detail}"
                  + (f"  -> {c.fix}" if c.fix and not c.ok else ""))
        print(f"default backend: {default or 'none can run here'}")
    return 0 if default else EXIT_HARNESS


async def _all_checks() -> tuple[list[Check], str | None]:
    checks = [_root(), await _docker(), *_tools(), _blake3()]
    checks += await _kernel() if os.geteuid() == 0 else [
        Check("kernel features", False, "not probed: needs root", "run doctor as root")]
    try:
        default = resolve("auto", None)
    except HarnessError as exc:
        default = None
        checks.append(Check("default backend", False, str(exc)))
    return checks, default


def _root() -> Check:
    root = os.geteuid() == 0
    return Check("root", root, "running as root" if root else f"uid {os.geteuid()}",
                 "run as root (netns backend, iptables and tc faults need it)")


async def _docker() -> Check:
    fix = "install docker.io and start dockerd, or use --backend netns"
    try:
        import docker
        client = docker.from_env(timeout=3)
        version = await asyncio.to_thread(client.version)
        return Check("docker engine", True, f"Docker {version.get('Version', '?')} answers")
    except Exception as exc:    # the docker SDK raises many unrelated types when no engine answers
        return Check("docker engine", False, f"no engine answers: {str(exc).splitlines()[0]}", fix)


_TOOLS = [("iproute2", "ip", "apt-get install iproute2"),
          ("iptables", "iptables", "apt-get install iptables"),
          ("tc", "tc", "apt-get install iproute2"),
          ("sshd", "/usr/sbin/sshd", "apt-get install openssh-server"),
          ("ssh-keygen", "ssh-keygen", "apt-get install openssh-client"),
          ("unshare", "unshare", "apt-get install util-linux"),
          ("debootstrap", "debootstrap", "apt-get install debootstrap (builds the node image)")]


def _tools() -> list[Check]:
    checks = []
    for name, exe, fix in _TOOLS:
        path = shutil.which(exe)
        checks.append(Check(name, path is not None, path or f"{exe} not found", fix))
    return checks


def _blake3() -> Check:
    try:
        import blake3  # noqa: F401
        return Check("python blake3", True, "importable (the emulator needs it on every node)")
    except ImportError:
        return Check("python blake3", False, "not importable", "pip install blake3")


_PROBES = [("netns", None),
           ("dummy interface", ["ip", "link", "add", "hd0", "type", "dummy"]),
           ("veth", ["ip", "link", "add", "hv0", "type", "veth", "peer", "name", "hv1"]),
           ("bridge", ["ip", "link", "add", "hb0", "type", "bridge"]),
           ("tc netem", ["tc", "qdisc", "add", "dev", "hv0", "root", "netem", "delay", "10ms",
                         "loss", "1%"]),
           ("tc tbf", ["tc", "qdisc", "replace", "dev", "hv0", "root", "tbf", "rate", "1mbit",
                       "burst", "32kbit", "latency", "400ms"])]


async def _kernel() -> list[Check]:
    ns = f"heliosdb-doctor-{secrets.token_hex(3)}-n0"
    checks = []
    try:
        made = await run_local(["ip", "netns", "add", ns], check=False)
        checks.append(Check("kernel netns", made.exit_status == 0,
                            "network namespaces work" if made.exit_status == 0 else made.stderr.strip(),
                            "a kernel with CONFIG_NET_NS"))
        if made.exit_status != 0:
            return checks
        for name, argv in _PROBES[1:]:
            res = await run_local(["ip", "netns", "exec", ns, *argv], check=False)
            checks.append(Check(f"kernel {name}", res.exit_status == 0,
                                "works" if res.exit_status == 0 else res.stderr.strip()[:120],
                                f"load the kernel module for {name} (modprobe)"))
    finally:
        await run_local(["ip", "netns", "del", ns], check=False)
    return checks
