"""N x N reachability probe and host facts detected once (layer: nemesis).

From every node, in parallel, each other node's cluster address is TCP-connected:
the heal survey does it with sh + bash's /dev/tcp (fast; it also lists the
host's rules and qdiscs in the same exec), `reachability` with a tiny python3
script. A refused connection counts as reachable (something answered); only a
silent drop times out.
"""

from __future__ import annotations

import asyncio
import json
from typing import Mapping

from remote import Remote, RemoteCommandError

from ._argv import QDISC_HANDLE, htb_toward, netem_add, qdisc_del
from ._errors import NemesisError, NemesisUnsupported

PROBE = r"""
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
t, port, addrs = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
def reach(a):
    s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
    s.settimeout(t)
    try:
        s.connect((a, port)); return True
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        s.close()
with ThreadPoolExecutor(max(1, len(addrs))) as ex:
    print(json.dumps(dict(zip(addrs, ex.map(reach, addrs)))))
"""

# The probe plus the host's iptables rules and qdiscs, in one exec: a heal's
# verification then costs one round trip per host. Written for sh + bash's /dev/tcp
# rather than python3: interpreter start-up was half of a heal's verification time.
# A refused connect counts as reachable; a timeout (exit 124) or any other error does
# not, so a node lacking bash or timeout reports "unreachable", never a false heal.
SURVEY = r"""
port=$1; t=$2; ipt=$3; shift 3
for a in "$@"; do
  ( err=$(timeout "$t" bash -c "exec 3<>/dev/tcp/$a/$port" 2>&1); rc=$?
    case "$rc:$err" in 0:*|*refused*) echo "R $a 1";; *) echo "R $a 0";; esac ) &
done
wait
echo "=listing"; "$ipt" -w -S; tc qdisc show
"""


def parse_survey(stdout: str) -> tuple[dict[str, bool], str]:
    """({address: reachable}, iptables -S + tc qdisc show text) from SURVEY's output."""
    head, sep, listing = stdout.partition("=listing\n")
    if not sep:
        raise NemesisError(f"survey printed no listing: {stdout.strip()[-200:]!r}")
    reach = {}
    for line in head.splitlines():
        tag, addr, ok = (line.split() + ["", "", ""])[:3]
        if tag == "R":
            reach[addr] = ok == "1"
    return reach, listing


Matrix = dict[str, dict[str, bool]]


async def reachability(remotes: Mapping[str, Remote], *, port: int = 22,
                       timeout: float = 0.5) -> Matrix:
    """{src: {dst: reachable}} for every ordered pair of distinct nodes."""
    addr = {n: r.host.address for n, r in remotes.items()}

    async def one(src: str) -> dict[str, bool]:
        targets = [addr[d] for d in sorted(remotes) if d != src]
        argv = ["python3", "-c", PROBE, str(timeout), str(port), *targets]
        res = await remotes[src].exec(argv, timeout=timeout * 4 + 10)
        by_addr = json.loads(res.stdout)
        return {d: bool(by_addr[addr[d]]) for d in sorted(remotes) if d != src}

    names = sorted(remotes)
    rows = await asyncio.gather(*(one(n) for n in names))
    return dict(zip(names, rows))


async def survey(remotes: Mapping[str, Remote], iptables: Mapping[str, str], *,
                 port: int = 22, timeout: float = 0.5) -> tuple[Matrix, dict[str, str]]:
    """(reachability matrix, {node: `iptables -S` + `tc qdisc show` output})."""
    addr = {n: r.host.address for n, r in remotes.items()}

    async def one(src: str):
        targets = [addr[d] for d in sorted(remotes) if d != src]
        argv = ["sh", "-c", SURVEY, "survey", str(port), str(timeout), iptables[src], *targets]
        res = await remotes[src].exec(argv, timeout=timeout * 4 + 10)
        by_addr, listing = parse_survey(res.stdout)
        row = {d: bool(by_addr.get(addr[d], False)) for d in sorted(remotes) if d != src}
        return row, listing

    names = sorted(remotes)
    rows = await asyncio.gather(*(one(n) for n in names))
    return ({n: r[0] for n, r in zip(names, rows)}, {n: r[1] for n, r in zip(names, rows)})


async def detect_iptables(remote: Remote) -> str:
    """The iptables binary to use on this host: `iptables` as present (legacy
    or nft), else an explicit variant."""
    for binary in ("iptables", "iptables-nft", "iptables-legacy"):
        res = await remote.exec([binary, "-w", "-L", "INPUT", "-n"], check=False, timeout=15)
        if res.exit_status == 0:
            return binary
    raise NemesisError(f"{remote.host.name}: no working iptables (tried iptables, "
                       "iptables-nft, iptables-legacy); partitions and loss need it and "
                       "CAP_NET_ADMIN")


async def cluster_interface(remote: Remote) -> str:
    """The interface carrying this host's cluster address (`ip -o addr show to`)."""
    address = remote.host.address
    res = await remote.exec(["ip", "-o", "addr", "show", "to", address], timeout=15)
    fields = res.stdout.split()
    if len(fields) < 2:
        raise NemesisError(f"{remote.host.name}: no interface holds the cluster address "
                           f"{address} (`ip -o addr show to {address}` printed nothing)")
    return fields[1].rstrip(":").split("@")[0]


async def probe_netem(remote: Remote, dev: str) -> None:
    """Raise NemesisUnsupported unless a netem qdisc can be added on `dev`.

    Adds a no-op netem root qdisc and removes it at once; run before any
    fault so it never replaces a qdisc the nemesis set."""
    res = await remote.exec(netem_add(dev), check=False, timeout=15)
    if res.exit_status != 0:
        if "unknown" in res.stderr.lower() or "no such file" in res.stderr.lower():
            raise NemesisUnsupported(
                f"tc netem is not available on {remote.host.name}: the kernel lacks "
                "sch_netem; delay/jitter/duplicate/reorder faults cannot run here")
        raise NemesisError(f"{remote.host.name}: probing tc netem on {dev} (handle "
                           f"{QDISC_HANDLE}) failed: {res.stderr.strip()}")
    try:
        await remote.exec(qdisc_del(dev), timeout=15)
    except RemoteCommandError as exc:
        raise NemesisError(f"{remote.host.name}: could not remove the netem probe qdisc: "
                           f"{exc}") from exc


async def probe_htb(remote: Remote, dev: str, address: str) -> str | None:
    """None if an htb class with a u32 destination filter can shape `dev`'s packets to
    `address` here, else why not (tc's own words). Adds them under the nemesis's handle and
    removes them at once; run before the fault, so it never replaces one the nemesis set."""
    for argv in htb_toward(dev, "1mbit", address):
        res = await remote.exec(argv, check=False, timeout=15)
        if res.exit_status != 0:
            break
    await remote.exec(qdisc_del(dev), check=False, timeout=15)
    return None if res.exit_status == 0 else f"`{' '.join(argv[:4])} ...`: {res.stderr.strip()}"
