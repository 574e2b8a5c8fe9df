"""The fault registry: one entry per fault name (layer: nemesis).

Each `Fault` holds everything about one fault a schedule may name:

- `params`: the keys a case may give it, each with its check (`_params`);
  any other key is an error suggesting the closest valid one;
- `resolve(params, nodes, rng)`: fixes the random parts when the schedule is
  built (pure, seeded), so a written schedule replays exactly;
- `apply(nem, params, leader)`: applies it now through the Nemesis and
  returns its fault id; raises NoTarget when its targets cannot be chosen;
- `needs`: the DB capability it needs ("kill", "pause", "clock", "disk"),
  or None for network faults.

To add a fault: a handler here (or in its own module) and one line in FAULTS.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping, Sequence

from . import _params as P
from ._errors import BadSchedule, NoTarget
from ._grudge import SHAPES, build_grudge, grudge_from_json, grudge_to_json
from ._targets import TARGETS, select_targets
from ._together import contest_election

Leader = Callable[[], Awaitable[str | None]]
Check = Callable[[object, str], object]
RATE = re.compile(r"^\d{1,9}(\.\d{1,6})?(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps|tbps)$")
MAX_FLIPS = 10_000


@dataclass(frozen=True)
class Fault:
    name: str
    apply: Callable[..., Awaitable[str]]
    params: Mapping[str, Check] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    resolve: Callable[[dict, Sequence[str], random.Random], dict] | None = None
    needs: str | None = None
    check: Callable[[dict, str], None] | None = None     # checks across params
    # What the damaged node is expected to do, for the revival watcher: "down" (its data
    # was damaged; refusing to start later is correct, it is not awaited) or "refuse" (the
    # fault restarts it on damaged data: it must refuse, and what it did is recorded)
    node_after: str | None = None


def _targets_check(value, where):
    if isinstance(value, list):
        return P.names(value, where)
    return P.choice(value, where, TARGETS)


TARGETS_PARAM = {"targets": _targets_check}


def check_params(fault: Fault, params: dict, where: str) -> None:
    """BadSchedule unless `params` are exactly what `fault` accepts, each valid."""
    P.keys(params, fault.params, where)
    for key in fault.required:
        if key not in params:
            raise BadSchedule(f"{where}: fault {fault.name!r} needs '{key}'")
    for key, value in params.items():
        fault.params[key](value, f"{where}.{key}")
    if fault.check is not None:
        fault.check(params, where)


# ---- schedule-time resolution (pure, seeded) ----------------------------------------------

def _resolve_targets(params: dict, nodes, rng) -> dict:
    """`targets` other than leader/followers become a seeded `nodes` list."""
    if params.get("targets", "one") not in ("leader", "followers"):
        params["nodes"] = select_targets(params.pop("targets", "one"), nodes, rng)
    return params


def _resolve_partition(params: dict, nodes, rng) -> dict:
    shape = params.get("shape", "majority-minority")
    if shape != "isolate-leader":
        params["grudge"] = grudge_to_json(build_grudge(
            shape, nodes, rng, node=params.get("node"),
            direction=params.get("direction", "symmetric")))
    return params


def _resolve_clock(params: dict, nodes, rng) -> dict:
    if params.get("mode") == "skew":
        top = int(params.get("max_ms", 500))
        params["offsets_ms"] = {n: rng.randint(-top, top) for n in sorted(nodes)}
        return params
    return _resolve_targets(params, nodes, rng)


# ---- run-time target choice ---------------------------------------------------------------

async def choose_nodes(nem, params: dict, leader: Leader, *, live_only: bool = False) -> list[str]:
    """The step's nodes now. Raises NoTarget when no leader is known for a leader/followers
    step, or (`live_only`: process faults) when every target is already down; targets
    already down are left out (killing a killed node again would restart it early)."""
    if "nodes" in params:
        chosen = list(params["nodes"])
    else:
        spec = params.get("targets", "one")
        lead = await leader() if spec in ("leader", "followers") else None
        if spec in ("leader", "followers") and lead not in nem.nodes:
            raise NoTarget(f"targets {spec!r}: no leader is known")
        try:
            chosen = select_targets(spec, nem.nodes, random.Random(0), lead)
        except ValueError as exc:
            raise BadSchedule(str(exc)) from None
    if not live_only:
        return chosen
    down = nem.down_nodes()
    live = [n for n in chosen if n not in down]
    if not live:
        raise NoTarget(f"every target node is already down ({', '.join(chosen) or 'none'})")
    return live


async def _partition(nem, p, leader):
    if "grudge" in p:
        return await nem.partition(grudge_from_json(p["grudge"]), shape=p.get("shape"))
    node = await leader()
    if node not in nem.nodes:
        raise NoTarget("isolate-leader: no leader is known to isolate")
    grudge = build_grudge("isolate-leader", nem.nodes, random.Random(0), node=node,
                          direction=p.get("direction", "symmetric"))
    return await nem.partition(grudge, shape="isolate-leader", node=node)


def _process(op: str):
    async def apply(nem, p, leader):
        nodes = await choose_nodes(nem, p, leader, live_only=True)
        return await (nem.restart(nodes) if op == "restart" else nem.signal(op, nodes))
    return apply


async def _loss(nem, p, leader):
    return await nem.packet_loss(await choose_nodes(nem, p, leader), p.get("probability", 0.3),
                                 p.get("peers"))


async def _bandwidth(nem, p, leader):
    if "toward" in p:
        return await nem.bandwidth_toward(p["toward"], p.get("rate", "1mbit"))
    return await nem.bandwidth(await choose_nodes(nem, p, leader), p.get("rate", "1mbit"))


def _resolve_bandwidth(params: dict, nodes, rng) -> dict:
    return params if "toward" in params else _resolve_targets(params, nodes, rng)


NETEM_KEYS = ("delay_ms", "jitter_ms", "duplicate", "reorder")


async def _netem(nem, p, leader):
    return await nem.netem(await choose_nodes(nem, p, leader),
                           **{k: v for k, v in p.items() if k in NETEM_KEYS})


async def _clock(nem, p, leader):
    if "offsets_ms" in p:
        return await nem.clock(p["offsets_ms"])
    nodes = await choose_nodes(nem, p, leader)
    return await nem.clock({n: p.get("delta_ms", 1000) for n in nodes})


async def _clock_strobe(nem, p, leader):
    return await nem.clock_strobe(await choose_nodes(nem, p, leader), p.get("delta_ms", 1000),
                                  p.get("period_s", 0.2), p.get("strobe_s", 1.0))


async def _bitflip(nem, p, leader):
    return await nem.bitflip(p["node"], p["path"], p.get("seed", 0))


async def _truncate(nem, p, leader):
    return await nem.truncate(p["node"], p["path"], p.get("drop_bytes", 1))


def _corrupt(kind: str):
    async def apply(nem, p, leader):
        return await nem.corrupt(kind, p["node"], p.get("repo", "data-backups"),
                                 p.get("backup", 0), p.get("seed", 0))
    return apply


async def _wal_bitflip(nem, p, leader):
    return await nem.corrupt_wal(p["node"], p.get("path", "data/wal.log"), p.get("seed", 0))


_REPO = re.compile(r"^[A-Za-z0-9_./-]{1,200}$")
CORRUPT_PARAMS = {
    "node": P.name,
    "repo": lambda v, w: P.text(v, w, _REPO, "a repository copy under the host's workdir, "
                                "e.g. data-backups (a node's) or regions/n2 (a region's)"),
    "backup": lambda v, w: P.number(v, w, minimum=-1000, maximum=1000, integer=True),
    "seed": lambda v, w: P.number(v, w, integer=True)}


# ---- cross-parameter checks -----------------------------------------------------------------

def _partition_check(p: dict, where: str) -> None:
    shape = p.get("shape", "majority-minority")
    if "node" in p and shape != "isolate-one":
        raise BadSchedule(f"{where}.node: only shape 'isolate-one' takes a node "
                          f"(shape is {shape!r})")


def _bandwidth_check(p: dict, where: str) -> None:
    if "toward" in p and "targets" in p:
        raise BadSchedule(f"{where}: give 'targets' (shape those hosts' egress) or 'toward' "
                          f"(shape every other host's packets to that host), not both")


def _strobe_check(p: dict, where: str) -> None:
    flips = p.get("strobe_s", 1.0) / p.get("period_s", 0.2)
    if flips > MAX_FLIPS:
        raise BadSchedule(f"{where}: strobe_s / period_s is {flips:.0f} clock flips; "
                          f"at most {MAX_FLIPS}")


def _clock_check(p: dict, where: str) -> None:
    skew = p.get("mode") == "skew"
    for key in (("delta_ms", "targets") if skew else ("max_ms",)):
        if key in p:
            raise BadSchedule(f"{where}.{key}: not used by clock mode "
                              f"{p.get('mode', 'bump')!r}")


_MS = dict(minimum=-86_400_000, maximum=86_400_000, integer=True)
_PATH = re.compile(r"^/[^\x00]*$")


def _path(v, where):
    return P.text(v, where, _PATH, "an absolute path on the node")


FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault("partition", _partition, {
        "shape": lambda v, w: P.choice(v, w, SHAPES), "node": P.name,
        "direction": lambda v, w: P.choice(v, w, ("symmetric", "one-way"))},
        resolve=_resolve_partition, check=_partition_check),
    Fault("kill", _process("kill"), TARGETS_PARAM, resolve=_resolve_targets, needs="kill"),
    Fault("pause", _process("pause"), TARGETS_PARAM, resolve=_resolve_targets, needs="pause"),
    Fault("restart", _process("restart"), TARGETS_PARAM, resolve=_resolve_targets,
          needs="kill"),
    Fault("loss", _loss, {**TARGETS_PARAM, "probability": lambda v, w: P.fraction(v, w, zero=False),
                          "peers": P.names}, resolve=_resolve_targets),
    Fault("bandwidth", _bandwidth, {
        **TARGETS_PARAM, "toward": P.name,
        "rate": lambda v, w: P.text(v, w, RATE, "a tc rate such as '1mbit' or '512kbit'")},
        resolve=_resolve_bandwidth, check=_bandwidth_check),
    Fault("netem", _netem, {**TARGETS_PARAM,
                            "delay_ms": lambda v, w: P.number(v, w, maximum=60_000),
                            "jitter_ms": lambda v, w: P.number(v, w, maximum=60_000),
                            "duplicate": P.fraction, "reorder": P.fraction},
          resolve=_resolve_targets),
    Fault("clock", _clock, {**TARGETS_PARAM,
                            "mode": lambda v, w: P.choice(v, w, ("skew", "bump")),
                            "max_ms": lambda v, w: P.number(v, w, minimum=0, maximum=86_400_000,
                                                            integer=True),
                            "delta_ms": lambda v, w: P.number(v, w, **_MS)},
          resolve=_resolve_clock, needs="clock", check=_clock_check),
    Fault("clock-strobe", _clock_strobe, {
        **TARGETS_PARAM, "delta_ms": lambda v, w: P.number(v, w, **_MS),
        "period_s": lambda v, w: P.number(v, w, minimum=0.01, maximum=P.MAX_SECONDS),
        "strobe_s": lambda v, w: P.seconds(v, w, positive=True)},
        resolve=_resolve_targets, needs="clock", check=_strobe_check),
    Fault("bitflip", _bitflip, {"node": P.name, "path": _path,
                                "seed": lambda v, w: P.number(v, w, integer=True)},
          required=("node", "path"), needs="disk", node_after="down"),
    Fault("truncate", _truncate, {"node": P.name, "path": _path,
                                  "drop_bytes": lambda v, w: P.number(v, w, minimum=1,
                                                                      integer=True)},
          required=("node", "path"), needs="disk", node_after="down"),
    Fault("backup-bitflip", _corrupt("bitflip"), CORRUPT_PARAMS, required=("node",),
          needs="disk"),
    Fault("backup-truncate", _corrupt("truncate"), CORRUPT_PARAMS, required=("node",),
          needs="disk"),
    Fault("backup-delete", _corrupt("delete"), CORRUPT_PARAMS, required=("node",),
          needs="disk"),
    Fault("backup-misdirect", _corrupt("misdirect"), CORRUPT_PARAMS, required=("node",),
          needs="disk"),
    Fault("backup-manifest", _corrupt("manifest"), CORRUPT_PARAMS, required=("node",),
          needs="disk"),
    Fault("wal-bitflip", _wal_bitflip, {
        "node": P.name, "seed": lambda v, w: P.number(v, w, integer=True),
        "path": lambda v, w: P.text(v, w, _REPO, "the WAL under the host's workdir, "
                                    "e.g. data/wal.log")}, required=("node",), needs="disk",
          node_after="refuse"),
    Fault("contested-election", contest_election,
          {"hold": lambda v, w: P.number(v, w, minimum=None, above=0.0, maximum=10.0)},
          needs="kill"),
)}


def resolve(fault: str, params: dict, nodes: Sequence[str], rng: random.Random,
            where: str) -> dict:
    """The step's params with their random parts fixed for these nodes; BadSchedule
    naming `where` when the nodes cannot satisfy them (unknown node, too few nodes)."""
    entry, params = FAULTS[fault], dict(params)
    for key in ("node", "peers", "toward"):
        named = params.get(key)
        for n in ([named] if isinstance(named, str) else named or []):
            if n not in nodes:
                raise BadSchedule(f"{where}.{key}: unknown node {n!r}; the cluster has "
                                  f"{', '.join(nodes)}")
    if entry.resolve is None:
        return params
    try:
        return entry.resolve(params, nodes, rng)
    except ValueError as exc:
        raise BadSchedule(f"{where}: {exc}") from None


async def apply_step(nem, step, leader: Leader) -> str:
    """Apply one schedule step now through `nem`; returns its fault id."""
    entry = FAULTS.get(step.fault)
    if entry is None:
        raise BadSchedule(f"schedule step at {step.at:g}s: unknown fault {step.fault!r}")
    return await entry.apply(nem, step.params, leader)
