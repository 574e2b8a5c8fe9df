"""Remove what the netns backend made, from names alone (layer: harness).

Only objects carrying this run's names are touched: namespaces named
heliosdb-<run_id>-n*, links whose alias is "heliosdb-harness run=<run_id>"
(or named exactly after the run), and FORWARD rules with that comment.
Processes die by namespace membership (`ip netns pids`), so sshd and every
DB process started over SSH inside a node go with it.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shlex
import shutil
import signal

from harness.control import run_local
from harness.provision import _netns_names as nm


async def list_netns() -> list[str]:
    out = (await run_local(["ip", "-j", "netns", "list"], check=False)).stdout
    return [entry["name"] for entry in json.loads(out or "[]")]


async def list_links() -> list[dict]:
    out = (await run_local(["ip", "-j", "link", "show"], check=False)).stdout
    return json.loads(out or "[]")


async def list_forward_rules() -> list[str]:
    out = (await run_local(["iptables", "-w", "10", "-S", "FORWARD"], check=False)).stdout
    return [line for line in out.splitlines() if nm.alias("") in line]


def _rule_run(line: str) -> str | None:
    words = shlex.split(line)
    if "--comment" in words:
        return nm.run_of_alias(words[words.index("--comment") + 1])
    return None


async def _kill_netns_processes(ns: str) -> None:
    out = (await run_local(["ip", "netns", "pids", ns], check=False)).stdout
    pids = [int(p) for p in out.split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5.0
    while pids and loop.time() < deadline:
        pids = [p for p in pids if os.path.exists(f"/proc/{p}") and not _zombie(p)]
        if pids:
            await asyncio.sleep(0.01)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


async def remove_run(run_id: str) -> None:
    """Kill the run's processes and delete its namespaces, links, rules and state dir."""
    namespaces = [ns for ns in await list_netns() if nm.run_of_netns(ns) == run_id]
    await asyncio.gather(*(_kill_netns_processes(ns) for ns in namespaces))
    for ns in namespaces:
        await run_local(["ip", "netns", "del", ns], check=False)
    own_names = {nm.bridge_name(run_id)}
    links = [link["ifname"] for link in await list_links()
             if nm.run_of_alias(link.get("ifalias")) == run_id or link["ifname"] in own_names]
    for name in sorted(links, key=lambda n: n == nm.bridge_name(run_id)):
        await run_local(["ip", "link", "del", name], check=False)
    for line in await list_forward_rules():
        if _rule_run(line) == run_id:
            await run_local(["iptables", "-w", "10", *shlex.split(line.replace("-A ", "-D ", 1))],
                            check=False)
    shutil.rmtree(nm.state_dir(run_id), ignore_errors=True)


def _held(run_id: str) -> bool:
    """True if a live process holds the run's lock (it is in use, not a leftover)."""
    try:
        with open(nm.state_dir(run_id) / "lock") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
    except BlockingIOError:
        return True
    except OSError:
        return False


async def leftover_runs() -> set[str]:
    runs = {d.name for d in nm.STATE_ROOT.iterdir()} if nm.STATE_ROOT.is_dir() else set()
    runs |= {r for r in map(nm.run_of_netns, await list_netns()) if r}
    runs |= {r for r in (nm.run_of_alias(link.get("ifalias")) for link in await list_links()) if r}
    runs |= {r for r in map(_rule_run, await list_forward_rules()) if r}
    return runs


async def sweep_runs(skip: set[str] = frozenset()) -> list[str]:
    """Remove every netns run that no live process holds; return their ids."""
    swept = []
    for run_id in sorted(await leftover_runs()):
        if run_id in skip or _held(run_id):
            continue
        await remove_run(run_id)
        swept.append(run_id)
    return swept
