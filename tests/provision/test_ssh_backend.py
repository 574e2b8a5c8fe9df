"""The ssh backend against real sshd: an inventory pointing at hosts made by the netns backend."""

import asyncio
import subprocess
import sys

import pytest
import yaml

from harness import cluster_state as cs
from harness.control import close_all, connect_all, on_all
from harness.db.heliosdb import HeliosDB
from netns_helpers import needs_root

pytestmark = [pytest.mark.slow, needs_root]


def write_inventory(path, cluster, workdir, pin=True, known_hosts=None, port=22):
    hosts = []
    for h in cluster.hosts:
        entry = {"name": f"lab-{h.name}", "host": h.ssh_host, "port": port, "user": "root",
                 "key": cluster.key_path, "workdir": str(workdir)}
        if pin:
            entry["host_key"] = h.host_key
        hosts.append(entry)
    doc = {"hosts": hosts}
    if known_hosts:
        doc["known_hosts"] = str(known_hosts)
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def harness(*args):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=60)


def test_inventory_hosts_run_commands_and_the_emulator(netns_cluster, tmp_path):
    cluster, _, _ = netns_cluster
    inv = write_inventory(tmp_path / "inv.yaml", cluster, tmp_path / "work")

    async def go():
        lab = await cs.provision("ssh", 3, tmp_path / "run", inventory=inv, progress=lambda m: None)
        remotes = await connect_all(lab.hosts)
        try:
            names = await on_all(remotes, lambda r: r.exec(["hostname"]))
            db = HeliosDB(lab.hosts, port=7100, election_timeout_ms=500, heartbeat_ms=50)
            leader = await cs.start_db(db, remotes)
        finally:
            await close_all(remotes)
        run_root = tmp_path / "work" / lab.run_id
        existed = sorted(p.name for p in run_root.iterdir())
        await cs.teardown(lab)
        return lab, [n.stdout.strip() for n in names], leader, existed, run_root.exists()

    lab, names, leader, existed, still_there = asyncio.run(go())
    assert names == ["n1", "n2", "n3"]          # really the netns nodes, by hostname
    assert [h.name for h in lab.hosts] == ["lab-n1", "lab-n2", "lab-n3"]
    assert leader in {"lab-n1", "lab-n2", "lab-n3"}
    assert existed == ["lab-n1", "lab-n2", "lab-n3"] and not still_there
    # down killed the emulator processes through their pidfiles
    assert subprocess.run(["pgrep", "-f", f"{tmp_path}/work"], capture_output=True).stdout == b""


def test_unknown_host_key_is_refused(netns_cluster, tmp_path):
    cluster, _, _ = netns_cluster
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    inv = write_inventory(tmp_path / "inv.yaml", cluster, tmp_path / "w", pin=False,
                          known_hosts=empty)
    res = harness("cluster", "up", "--backend", "ssh", "--inventory", inv, "--nodes", "1",
                  "--no-db", "--store", str(tmp_path / "store"))
    assert res.returncode == 255
    assert f"lab-n1 (root@{cluster.hosts[0].ssh_host}:22): host key unknown" in res.stderr


def test_unreachable_host_exits_255_naming_host_and_cause(netns_cluster, tmp_path):
    cluster, _, _ = netns_cluster
    inv = write_inventory(tmp_path / "inv.yaml", cluster, tmp_path / "w", port=2)
    res = harness("cluster", "up", "--backend", "ssh", "--inventory", inv, "--nodes", "3",
                  "--no-db", "--store", str(tmp_path / "store"))
    assert res.returncode == 255
    assert "lab-n1 (root@" in res.stderr and ":2): ConnectionRefusedError" in res.stderr
    assert "Traceback" not in res.stderr
