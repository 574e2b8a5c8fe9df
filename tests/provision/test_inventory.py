"""Inventory validation: every problem names the file, the entry and the field."""

import pytest

from harness.errors import BadInput
from harness.provision._inventory import load_inventory

GOOD_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


@pytest.fixture
def key(tmp_path):
    path = tmp_path / "id"
    path.write_text("not checked here\n")
    return str(path)


def write(tmp_path, text):
    path = tmp_path / "inv.yaml"
    path.write_text(text)
    return str(path)


def test_valid_inventory_with_defaults(tmp_path, key):
    inv = load_inventory(write(tmp_path, f"""
hosts:
  - {{name: n1, host: 10.0.0.1, user: root, key: {key}}}
  - {{name: n2, host: lab2, port: 2222, user: ops, key: {key}, sudo: true, region: eu,
      address: 10.1.0.2, host_key: "{GOOD_KEY}", workdir: /srv/h}}
"""))
    a, b = inv.hosts
    assert (a.port, a.sudo, a.address, a.host_key, a.workdir) == (22, False, None, None,
                                                                 "/var/lib/heliosdb-harness")
    assert (b.port, b.sudo, b.region, b.address, b.workdir) == (2222, True, "eu", "10.1.0.2", "/srv/h")


@pytest.mark.parametrize("entry,message", [
    ("{host: h, user: root, key: KEY}", "hosts[0]: field 'name' is required"),
    ("{name: n1, user: root, key: KEY}", "hosts[0] (n1): field 'host' is required"),
    ("{name: n1, host: h, user: root, key: KEY, port: abc}", "field 'port' must be an integer"),
    ("{name: n1, host: h, user: root, key: KEY, port: 70000}", "field 'port' must be an integer"),
    ("{name: n1, host: h, user: root, key: KEY, sudo: yesplease}", "field 'sudo' must be true or false"),
    ("{name: N_1, host: h, user: root, key: KEY}", "field 'name' must match"),
    ("{name: n1, host: h, user: root, key: /nonexistent/key}", "field 'key': cannot read"),
    ("{name: n1, host: h, user: root, key: KEY, host_key: garbage}", "field 'host_key' is not"),
    ("{name: n1, host: h, user: root, key: KEY, colour: red}", "unknown field 'colour'"),
    ("{name: n1, host: h, user: root, key: KEY, workdir: rel/dir}", "field 'workdir' must be an absolute"),
    ("just-a-string", "hosts[0]: must be a mapping"),
])
def test_bad_entry_names_the_field(tmp_path, key, entry, message):
    path = write(tmp_path, "hosts:\n  - " + entry.replace("KEY", key) + "\n")
    with pytest.raises(BadInput) as info:
        load_inventory(path)
    assert message in str(info.value) and path in str(info.value)


@pytest.mark.parametrize("text,message", [
    ("hosts: []\n", "field 'hosts' must be a non-empty list"),
    ("nodes: [1]\n", "field 'hosts' must be a non-empty list"),
    ("hosts: [{a: }\n", "not valid YAML"),
])
def test_bad_file_shape(tmp_path, text, message):
    with pytest.raises(BadInput, match=message):
        load_inventory(write(tmp_path, text))


def test_duplicate_names_and_unreadable_file(tmp_path, key):
    path = write(tmp_path, f"hosts:\n  - {{name: n1, host: a, user: r, key: {key}}}\n"
                           f"  - {{name: n1, host: b, user: r, key: {key}}}\n")
    with pytest.raises(BadInput, match=r"hosts\[1\]: field 'name': duplicate name 'n1'"):
        load_inventory(path)
    with pytest.raises(BadInput, match="cannot read"):
        load_inventory(tmp_path / "nope.yaml")
