"""Names, addresses and on-disk places of a netns cluster (layer: harness).

Everything the netns backend creates is named from the run id alone, so
`down` and `sweep` find it again after a crash without any memory:

- state dir   /var/lib/heliosdb-harness/netns/<run_id>/ (created first, removed last)
- namespace   heliosdb-<run_id>-n1 ...
- bridge      hh<short>          (short = last 6 chars of the run id; 15-char limit)
- veth        hh<short>n1 ...    (host end; the node end is eth0 inside the namespace)
- alias       "heliosdb-harness run=<run_id>" on the bridge and every host veth end
- iptables    FORWARD rules with comment "heliosdb-harness run=<run_id>"
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from pathlib import Path

from harness.provision._base import LABEL

STATE_ROOT = Path("/var/lib/heliosdb-harness/netns")
NETNS_PREFIX = "heliosdb-"
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{5,40}$")
_NETNS_RE = re.compile(r"^heliosdb-(?P<run>.+)-n(?P<i>\d+)$")
# Candidate subnets: 10.213.0.0/16 split into /24s; the run id picks where to start.
_POOL = ipaddress.ip_network("10.213.0.0/16")


def short_id(run_id: str) -> str:
    return run_id[-6:].lower()


def bridge_name(run_id: str) -> str:
    return f"hh{short_id(run_id)}"


def veth_name(run_id: str, index: int) -> str:
    return f"hh{short_id(run_id)}n{index}"


def netns_name(run_id: str, index: int) -> str:
    return f"{NETNS_PREFIX}{run_id}-n{index}"


def alias(run_id: str) -> str:
    return f"{LABEL} run={run_id}"


def run_of_netns(name: str) -> str | None:
    m = _NETNS_RE.match(name)
    return m.group("run") if m else None


def run_of_alias(text: str | None) -> str | None:
    prefix = f"{LABEL} run="
    if text and text.startswith(prefix):
        return text[len(prefix):]
    return None


def state_dir(run_id: str) -> Path:
    return STATE_ROOT / run_id


def pick_subnet(run_id: str, ip_route_json: str, ip_addr_json: str) -> ipaddress.IPv4Network:
    """A /24 from 10.213.0.0/16 overlapping no existing route or address.

    `ip_route_json`/`ip_addr_json` are the outputs of `ip -j -4 route show table all`
    and `ip -j -4 addr`. Default routes are ignored (they overlap everything).
    """
    used = _used_networks(ip_route_json, ip_addr_json)
    subnets = list(_POOL.subnets(new_prefix=24))
    start = int(hashlib.sha256(run_id.encode()).hexdigest(), 16) % len(subnets)
    for k in range(len(subnets)):
        candidate = subnets[(start + k) % len(subnets)]
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise RuntimeError(f"no free /24 left in {_POOL}")


def _used_networks(ip_route_json: str, ip_addr_json: str) -> list[ipaddress.IPv4Network]:
    used = []
    for route in json.loads(ip_route_json or "[]"):
        dst = route.get("dst", "")
        if dst in ("default", "") or route.get("type") in ("broadcast", "local"):
            continue
        try:
            net = ipaddress.ip_network(dst if "/" in dst else dst + "/32", strict=False)
        except ValueError:
            continue
        if net.version == 4 and net.prefixlen > 0:
            used.append(net)
    for link in json.loads(ip_addr_json or "[]"):
        for a in link.get("addr_info", []):
            if a.get("family") == "inet":
                used.append(ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", strict=False))
    return used


def node_address(subnet: ipaddress.IPv4Network, index: int) -> str:
    return str(subnet.network_address + index)


def bridge_address(subnet: ipaddress.IPv4Network) -> str:
    return str(subnet.network_address + 254)
