"""Observation probes run inside the nodes through a Remote (over SSH on every backend).

Independent of the nemesis's own heal probe: tiny python3 scripts executed on
a node via Remote.exec, so the same checks work on netns and docker nodes.
"""

from __future__ import annotations

import asyncio
import json
import time

from nemesis import CHAIN
from nemesis_probes import TCP_SEND, TCP_SINK, UDP_SEND  # UDP_SINK differs: no 'ready'

CONNECT_MANY = r"""
import socket, sys
port, timeout = int(sys.argv[1]), float(sys.argv[2])
for addr in sys.argv[3:]:
    s = socket.socket(); s.settimeout(timeout)
    try:
        s.connect((addr, port)); ok = True
    except ConnectionRefusedError:
        ok = True
    except OSError:
        ok = False
    s.close()
    print(addr, "ok" if ok else "fail")
"""

UDP_SINK = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2]))); s.settimeout(0.05)
got, end = set(), time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    try:
        data, _ = s.recvfrom(64)
        if data == b"end":
            break
        got.add(data)
    except socket.timeout:
        pass
print(len(got), flush=True)
"""


UDP_END = r"""
import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"end", (sys.argv[1], int(sys.argv[2])))
"""


async def reachable_from(remote, addresses, port=22, timeout=0.3) -> dict[str, bool]:
    """From inside remote's node: address -> TCP connect answered (accepted or refused)."""
    res = await remote.exec(["python3", "-c", CONNECT_MANY, str(port), str(timeout),
                             *addresses], timeout=30)
    return {a: v == "ok" for a, v in (ln.split() for ln in res.stdout.splitlines())}


async def matrix(remotes: dict, port=22) -> dict[tuple[str, str], bool]:
    """(src, dst) -> reachable, for every ordered pair of distinct nodes, sources in parallel."""
    names = sorted(remotes)
    addr = {n: remotes[n].host.address for n in names}

    async def row(src):
        got = await reachable_from(remotes[src], [addr[d] for d in names if d != src], port)
        return {(src, d): got[addr[d]] for d in names if d != src}
    out: dict = {}
    for part in await asyncio.gather(*(row(n) for n in names)):
        out.update(part)
    return out


async def _wait_udp_bound(remote, port: int, deadline: float, proto: str = "u") -> None:
    while time.monotonic() < deadline:
        res = await remote.exec(["ss", f"-Hl{proto}n", f"sport = :{port}"], check=False)
        if res.stdout.strip():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{remote.host.name}: sink on port {port} never bound")


async def tcp_throughput(src, dst, nbytes, port=9912) -> float:
    """Bytes per second of one bulk TCP transfer from node src to node dst."""
    addr = dst.host.address
    sink = asyncio.ensure_future(dst.exec(["python3", "-c", TCP_SINK, addr, str(port)],
                                          timeout=60))
    try:
        await _wait_udp_bound(dst, port, time.monotonic() + 10, proto="t")
        res = await src.exec(["python3", "-c", TCP_SEND, addr, str(port), str(nbytes)],
                             timeout=60)
        out = json.loads(res.stdout)
        assert out["bytes"] == nbytes, out
        await sink
        return nbytes / out["seconds"]
    finally:
        if not sink.done():
            sink.cancel()
            await asyncio.gather(sink, return_exceptions=True)


async def udp_delivered(src, dst, count, port=9911, window=3.0) -> int:
    """Send `count` numbered datagrams from node src to node dst; how many arrived.

    The sink (on dst) stops at an "end" datagram that dst sends to itself,
    which no partition between nodes drops, or after `window` seconds."""
    addr = dst.host.address
    sink = asyncio.ensure_future(dst.exec(["python3", "-c", UDP_SINK, addr, str(port),
                                           str(window)], timeout=window + 20))
    try:
        await _wait_udp_bound(dst, port, time.monotonic() + 10)
        await src.exec(["python3", "-c", UDP_SEND, addr, str(port), str(count)], timeout=30)
        await dst.exec(["python3", "-c", UDP_END, addr, str(port)])
        return int((await sink).stdout)
    finally:
        if not sink.done():
            sink.cancel()
            await asyncio.gather(sink, return_exceptions=True)


async def harness_rules(remote) -> list[str]:
    out = (await remote.exec(["iptables", "-w", "-S"])).stdout
    return [ln for ln in out.splitlines() if CHAIN in ln or "helios-nemesis" in ln]
