"""`harness cluster` bad input: exit 254 and a one-line message naming the field (no traceback)."""

import subprocess
import sys

import pytest


def harness(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd)


@pytest.mark.parametrize("args,field", [
    (["--nodes", "4"], "--nodes: must be an odd number from 1 to 9, got 4"),
    (["--nodes", "0"], "--nodes: must be an odd number from 1 to 9, got 0"),
    (["--nodes", "11"], "--nodes: must be an odd number from 1 to 9, got 11"),
    (["--nodes", "three"], "--nodes"),
    (["--backend", "vmware"], "--backend: unknown backend 'vmware'"),
    (["--backend", "ssh"], "--inventory: the ssh backend needs an inventory file"),
    (["--inventory", "/nonexistent/inv.yaml"], "inventory /nonexistent/inv.yaml: cannot read"),
])
def test_cluster_up_bad_input(tmp_path, args, field):
    res = harness("cluster", "up", "--store", str(tmp_path), *args)
    assert res.returncode == 254, res.stderr
    assert field in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "clusters").exists()     # nothing was provisioned


def test_invalid_inventory_names_the_field(tmp_path):
    inv = tmp_path / "inv.yaml"
    inv.write_text(f"hosts:\n  - {{name: n1, host: h, user: root, key: {inv}, port: -1}}\n")
    res = harness("cluster", "up", "--backend", "ssh", "--inventory", str(inv), "--nodes", "1",
                  "--store", str(tmp_path))
    assert res.returncode == 254
    assert f"inventory {inv}: hosts[0] (n1): field 'port'" in res.stderr


def test_status_without_a_cluster_is_a_clear_error(tmp_path):
    res = harness("cluster", "status", "--store", str(tmp_path))
    assert res.returncode == 255
    assert "no current cluster under" in res.stderr and "Traceback" not in res.stderr
