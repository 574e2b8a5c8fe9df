"""Network faults: partitions, packet loss, bandwidth, netem (layer: nemesis).

Each function journals per-host steps through the core, applies them on all
affected hosts in parallel, and tells the core what should now be cut so a
later verification knows what to expect.
"""

from __future__ import annotations

import asyncio
from typing import Iterable, Mapping

from . import _argv
from ._core import NemesisCore
from ._errors import NemesisError
from ._probe import cluster_interface, probe_htb, probe_netem


async def _rules_on(core: NemesisCore, fault: str, node: str, peers: Iterable[str],
                    probability: float | None = None) -> None:
    peers = sorted(peers)
    if not peers:
        return
    chain = await core.chain_entry(node)
    ipt = await core.iptables(node)
    specs = [_argv.drop_spec(core.address[p], fault, probability) for p in peers]
    await core.journaled(fault, node, [_argv.add_rule(ipt, s) for s in specs],
                         [_argv.delete_rule(ipt, s) for s in specs], chain=chain)


def _check_nodes(core: NemesisCore, nodes: Iterable[str], what: str) -> None:
    unknown = sorted(set(nodes) - set(core.nodes))
    if unknown:
        raise NemesisError(f"{what} names unknown nodes {unknown}; cluster nodes are {core.nodes}")


async def partition(core: NemesisCore, fault: str, grudge: Mapping[str, Iterable[str]]) -> None:
    """Apply a grudge: node n drops packets from every node in grudge[n]."""
    _check_nodes(core, list(grudge) + [p for v in grudge.values() for p in v], "grudge")
    core.blocked[fault] = {(p, n) for n, peers in grudge.items() for p in peers}
    await asyncio.gather(*(_rules_on(core, fault, n, peers) for n, peers in grudge.items()))


async def packet_loss(core: NemesisCore, fault: str, nodes: Iterable[str], probability: float,
                      peers: Iterable[str] | None = None) -> None:
    """Each of `nodes` drops packets from `peers` (default: all other nodes)
    with the given probability (iptables statistic match)."""
    nodes = sorted(nodes)
    _check_nodes(core, nodes, "packet loss")
    plan = {n: sorted(set(peers if peers is not None else core.nodes) - {n}) for n in nodes}
    core.lossy[fault] = {(p, n) for n, ps in plan.items() for p in ps}
    await asyncio.gather(*(_rules_on(core, fault, n, ps, probability) for n, ps in plan.items()))


def _check_no_qdisc(core: NemesisCore, node: str) -> None:
    if any(node in ns for ns in core.qdiscs.values()):
        raise NemesisError(f"{node}: a bandwidth/netem fault is already in effect there; "
                           "end it before starting another")


async def _root_qdisc(core: NemesisCore, fault: str, node: str, build, dev=None) -> None:
    """Journal and apply `build(dev)` (the argv that set up the nemesis's root qdisc on the
    node's cluster interface); undone by deleting that root qdisc."""
    _check_no_qdisc(core, node)
    dev = dev or await cluster_interface(core.remotes[node])
    core.qdiscs.setdefault(fault, set()).add(node)
    await core.journaled(fault, node, build(dev), [_argv.qdisc_del(dev)])


async def bandwidth(core: NemesisCore, fault: str, nodes: Iterable[str], rate: str) -> None:
    """Limit each node's egress on its cluster interface with tc tbf."""
    nodes = sorted(nodes)
    _check_nodes(core, nodes, "bandwidth")
    await asyncio.gather(*(_root_qdisc(core, fault, n, lambda dev: [_argv.tbf_add(dev, rate)])
                           for n in nodes))


async def bandwidth_toward(core: NemesisCore, fault: str, target: str, rate: str) -> dict:
    """Shape the link into `target` (a region host, say): every other host's packets to
    target's address go through an htb class at `rate` (the direction data is shipped in;
    a host cannot shape its own ingress without act_police). Where htb or the u32 filter
    is missing on any host, each other host's whole egress gets tc tbf instead, and the
    result says so. Returns {mechanism, shaped_on, address}."""
    _check_nodes(core, [target], "bandwidth toward")
    hosts, address = [n for n in core.nodes if n != target], core.address[target]
    for n in hosts:          # before the probe, which adds and deletes a root qdisc
        _check_no_qdisc(core, n)
    devs = dict(zip(hosts, await asyncio.gather(*(cluster_interface(core.remotes[n])
                                                  for n in hosts))))
    missing = [(n, why) for n, why in zip(hosts, await asyncio.gather(*(
        probe_htb(core.remotes[n], devs[n], address) for n in hosts))) if why]

    def build(dev):
        return [_argv.tbf_add(dev, rate)] if missing else _argv.htb_toward(dev, rate, address)
    how = (f"tc tbf {rate} on the whole egress of {', '.join(hosts)} (htb with a u32 filter "
           f"unavailable on {missing[0][0]}: {missing[0][1]})" if missing else
           f"tc htb class {rate} with a u32 filter on destination {address} on the egress of "
           f"{', '.join(hosts)}")
    await asyncio.gather(*(_root_qdisc(core, fault, n, build, devs[n]) for n in hosts))
    return {"mechanism": how, "shaped_on": hosts, "address": address}


async def check_netem(core: NemesisCore, nodes: Iterable[str]) -> None:
    """Raise NemesisUnsupported unless every node can run a netem qdisc."""
    async def one(n):
        await probe_netem(core.remotes[n], await cluster_interface(core.remotes[n]))
    await asyncio.gather(*(one(n) for n in sorted(nodes)))


async def netem(core: NemesisCore, fault: str, nodes: Iterable[str], **params) -> None:
    """Delay/jitter/duplicate/reorder on each node's egress; fails fast
    (NemesisUnsupported) where the kernel lacks sch_netem."""
    nodes = sorted(nodes)
    _check_nodes(core, nodes, "netem")
    await check_netem(core, nodes)
    await asyncio.gather(*(_root_qdisc(core, fault, n, lambda dev: [_argv.netem_add(dev, **params)])
                           for n in nodes))
