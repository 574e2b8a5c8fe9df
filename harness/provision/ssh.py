"""The ssh backend: existing machines listed in an inventory YAML (layer: harness).

Nothing is created but a per-run working directory on each host,
<workdir>/<run_id>/<name>. Logins use the inventory's keys (access to lab
machines is their owners' business, so the run's own key is not installed
there); host keys are pinned by the inventory's `host_key` or checked
against known_hosts, and unknown keys are refused. `down` kills processes
recorded in pidfiles under the run's directory and removes it.
"""

from __future__ import annotations

import dataclasses
import shlex

from harness.control import Host, SshRemote, close_all, connect_all, on_all
from harness.errors import BadInput
from harness.provision._base import Backend, ClusterSpec, Progress
from harness.provision._inventory import Inventory, InventoryHost, load_inventory

# Kill every process whose pidfile lies in the run directory, then remove it.
_REMOVE_RUN = ('for f in "$1"/*/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; '
               'done; rm -rf -- "$1"')


def inventory_host(entry: InventoryHost, run_id: str) -> Host:
    return Host(name=entry.name, address=entry.address or entry.host, ssh_host=entry.host,
                ssh_port=entry.port, user=entry.user, key_path=entry.key,
                host_key=entry.host_key, sudo=entry.sudo, region=entry.region,
                workdir=f"{entry.workdir}/{run_id}/{entry.name}",
                extra={"backend": "ssh", "base": entry.workdir})


class SshBackend(Backend):
    name = "ssh"

    def __init__(self, inventory: Inventory | str):
        self.inventory = load_inventory(inventory) if isinstance(inventory, str) else inventory

    @staticmethod
    def unavailable_reason() -> str | None:
        return None     # needs only an inventory; reachability is checked in up()

    async def _connect(self, hosts: list[Host]) -> list[SshRemote]:
        return await connect_all(hosts, known_hosts=self.inventory.known_hosts)

    async def up(self, spec: ClusterSpec, progress: Progress) -> list[Host]:
        entries = self.inventory.hosts
        if spec.hosts > len(entries):
            raise BadInput(f"--nodes {spec.nodes}" + (f" and {spec.regions} region hosts"
                           if spec.regions else "") + f": inventory {self.inventory.path} "
                           f"lists only {len(entries)} hosts")
        # Region hosts (r1..rK) are the inventory's entries after the nodes.
        hosts = [inventory_host(e, spec.run_id) for e in entries[:spec.nodes]]
        hosts += [dataclasses.replace(inventory_host(e, spec.run_id), name=spec.host_name(i))
                  for i, e in enumerate(entries[spec.nodes:spec.hosts], spec.nodes + 1)]
        progress(f"ssh: connecting to {', '.join(h.name for h in hosts)}")
        remotes = await self._connect(hosts)
        try:
            await on_all(remotes, self._prepare)
        finally:
            await close_all(remotes)
        return hosts

    @staticmethod
    async def _prepare(remote: SshRemote) -> None:
        h = remote.host
        await remote.exec(["mkdir", "-p", h.workdir])
        if h.sudo and h.user != "root":
            await remote.exec(["chown", "-R", h.user, h.workdir.rsplit("/", 2)[0]])

    async def down(self, run_id: str) -> None:
        hosts = [inventory_host(e, run_id) for e in self.inventory.hosts]
        remotes = await self._connect(hosts)
        try:
            await on_all(remotes, lambda r: r.exec(
                ["sh", "-c", _REMOVE_RUN, "sh", r.host.workdir.rsplit("/", 1)[0]], timeout=60))
        finally:
            await close_all(remotes)

    async def sweep(self) -> list[str]:
        hosts = [inventory_host(e, "x") for e in self.inventory.hosts]
        remotes = await self._connect(hosts)
        try:
            listings = await on_all(remotes, lambda r: r.exec(
                ["sh", "-c", f"ls -1 {shlex.quote(r.host.extra['base'])} 2>/dev/null || true"]))
        finally:
            await close_all(remotes)
        runs = sorted({line for res in listings for line in res.stdout.split() if line})
        for run_id in runs:
            await self.down(run_id)
        return runs
