"""The Nemesis: one object the runner drives; every action is a history event (layer: nemesis).

Each action records an `invoke` event (time requested) before touching any
host and an `info` event (time in effect, after every host confirmed) when
done, both with `process: "nemesis"` and the fault id in the value. An
action that fails records an `info` with `error` and re-raises; whatever it
managed to apply is in the ledger and is undone by the next heal.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from . import _corrupt, _disk, _network, _process, _wal
from ._core import NemesisCore
from ._grudge import grudge_to_json


class Nemesis(NemesisCore):
    async def _act(self, f: str, value: dict, apply) -> str:
        fault = self.new_fault_id()
        value = {**value, "fault": fault}
        self.event("invoke", f, value)
        try:
            # Under the core's lock: a fault must not start while another fault's end()
            # or heal() is verifying, or that verification would expect this fault's cut.
            async with self._lock:
                result = await apply(fault)
        except BaseException as exc:
            self.event("info", f, {**value, "error": f"{type(exc).__name__}: {exc}"})
            exc.nemesis_recorded = True     # the timeline must not record it a second time
            raise
        self.event("info", f, {**value, **(result or {})})
        return fault

    async def partition(self, grudge: Mapping[str, Iterable[str]], **describe) -> str:
        """Start a partition; `describe` (shape, direction) goes into the events."""
        value = {"grudge": grudge_to_json(grudge), **describe}
        return await self._act("partition", value,
                               lambda fid: _network.partition(self, fid, grudge))

    async def packet_loss(self, nodes: Iterable[str], probability: float,
                          peers: Iterable[str] | None = None) -> str:
        nodes, peers = sorted(nodes), None if peers is None else sorted(peers)
        value = {"nodes": nodes, "probability": probability, "peers": peers}
        return await self._act("loss", value, lambda fid: _network.packet_loss(
            self, fid, nodes, probability, peers))

    async def bandwidth(self, nodes: Iterable[str], rate: str) -> str:
        nodes = sorted(nodes)
        return await self._act("bandwidth", {"nodes": nodes, "rate": rate},
                               lambda fid: _network.bandwidth(self, fid, nodes, rate))

    async def bandwidth_toward(self, target: str, rate: str) -> str:
        """Shape every other host's packets to `target` (nemesis._network.bandwidth_toward);
        the event names `target` as the fault's node and the mechanism used."""
        return await self._act("bandwidth", {"nodes": [target], "toward": target, "rate": rate},
                               lambda fid: _network.bandwidth_toward(self, fid, target, rate))

    async def netem(self, nodes: Iterable[str], **params) -> str:
        nodes = sorted(nodes)
        return await self._act("netem", {"nodes": nodes, **params},
                               lambda fid: _network.netem(self, fid, nodes, **params))

    async def signal(self, op: str, nodes: Iterable[str]) -> str:
        """op: kill, pause, resume or start (kill/pause are undone at end/heal)."""
        nodes = sorted(nodes)
        return await self._act(op, {"nodes": nodes},
                               lambda fid: _process.signal_nodes(self, fid, op, nodes))

    async def restart(self, nodes: Iterable[str]) -> str:
        nodes = sorted(nodes)
        return await self._act("restart", {"nodes": nodes},
                               lambda fid: _process.restart(self, fid, nodes))

    async def clock(self, offsets: Mapping[str, int]) -> str:
        offsets = dict(sorted(offsets.items()))
        return await self._act("clock", {"offsets_ms": offsets},
                               lambda fid: _process.clock_offsets(self, fid, offsets))

    async def clock_strobe(self, nodes: Iterable[str], delta_ms: int, period_s: float,
                           duration_s: float) -> str:
        nodes = sorted(nodes)

        async def apply(fid):
            return {"flips": await _process.clock_strobe(self, fid, nodes, delta_ms,
                                                         period_s, duration_s)}
        return await self._act("clock-strobe", {"nodes": nodes, "delta_ms": delta_ms,
                                                "period_s": period_s}, apply)

    async def bitflip(self, node: str, path: str, seed: int, lo: float = 0.0,
                      hi: float = 0.5) -> str:
        return await self._act("bitflip", {"node": node, "path": path, "seed": seed},
                               lambda fid: _disk.bitflip(self, fid, node, path, seed, lo, hi))

    async def truncate(self, node: str, path: str, drop_bytes: int) -> str:
        return await self._act("truncate", {"node": node, "path": path, "drop_bytes": drop_bytes},
                               lambda fid: _disk.truncate(self, fid, node, path, drop_bytes))

    async def corrupt(self, kind: str, node: str, repo: str, backup: int, seed: int) -> str:
        """Corrupt a backup file of a repository copy (nemesis._corrupt); one-shot."""
        return await self._act(f"backup-{kind}", {"node": node, "repo": repo, "backup": backup,
                                                  "seed": seed},
                               lambda fid: _corrupt.corrupt(self, fid, kind, node, repo, backup,
                                                            seed))

    async def corrupt_wal(self, node: str, path: str, seed: int) -> str:
        """Flip a bit of a committed mid-file WAL record, then restart the node (nemesis._wal)."""
        return await self._act("wal-bitflip", {"node": node, "path": path, "seed": seed},
                               lambda fid: _wal.corrupt_wal(self, fid, node, path, seed))

    async def end(self, fault: str) -> dict:
        """Undo one fault, then verify (an f "heal" info event)."""
        self.event("invoke", "end", {"fault": fault})
        return await super().end(fault)
