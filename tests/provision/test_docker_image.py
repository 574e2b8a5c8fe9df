"""The offline node image: built when missing, with no network, holding what a node needs.

Slow: real Docker engine. On a fresh machine the first test here also runs
debootstrap for the base (about a minute); later runs reuse the cached base
but always build a node image from nothing, into a repository of their own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import docker.errors
import pytest

from harness import _image_base
from harness.image import REPO_ROOT, ensure_image
from dockertest_util import engine, new_run_id

pytestmark = pytest.mark.slow


@pytest.fixture
def scratch_repo(tmp_path):
    """(client, repository no one else uses, snapshot of the sources to build from).

    The snapshot keeps colleagues' concurrent edits of emulator/ out of the test;
    every image in the repository is removed afterwards.
    """
    client = engine()
    repo = f"heliosdb-node-test-{new_run_id()}"
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "wheels")
    for d in ("compose", "emulator"):
        shutil.copytree(REPO_ROOT / d, src / d, ignore=ignore)
    shutil.copy2(REPO_ROOT / "Dockerfile.node", src / "Dockerfile.node")
    try:
        yield client, repo, src
    finally:
        for image in client.images.list(name=repo):
            for tag in image.tags:
                try:
                    client.images.remove(tag, force=True)
                except docker.errors.NotFound:
                    pass


def test_build_when_missing_offline_then_reuse(scratch_repo):
    client, repo, src = scratch_repo
    assert client.images.list(name=repo) == []
    messages: list[str] = []
    tag = ensure_image(messages.append, client=client, repo=repo, root=src)
    assert tag.startswith(f"{repo}:") and len(tag.split(":")[1]) == 12
    # The node image is built with the network disabled: offline for real.
    assert any("(no network)" in m for m in messages), messages
    image = client.images.get(tag)
    assert client.images.get(f"{repo}:latest").id == image.id
    assert image.labels[_image_base.IMAGE_LABEL] == "node"
    assert image.attrs["Config"]["Cmd"] == ["/usr/sbin/sshd", "-D", "-e"]
    assert "heliosdb-harness" not in image.labels    # containers inherit image labels
    # Unchanged sources: the same tag comes back and nothing is rebuilt.
    again: list[str] = []
    assert ensure_image(again.append, client=client, repo=repo, root=src) == tag
    assert not any(m.startswith(("building", "Step")) for m in again), again
    # A changed emulator source: a new tag is built, :latest moves to it, the old tag goes.
    (src / "emulator" / "_image_test_marker.py").write_text("MARK = 1\n")
    changed: list[str] = []
    new_tag = ensure_image(changed.append, client=client, repo=repo, root=src)
    assert new_tag != tag and any(m.startswith("building") for m in changed), changed
    assert client.images.get(f"{repo}:latest").id == client.images.get(new_tag).id
    assert sorted(t for i in client.images.list(name=repo) for t in i.tags) == \
        sorted([new_tag, f"{repo}:latest"])
    probe = ["python3", "-c", "import emulator._image_test_marker as m; print(m.MARK)"]
    marker = client.containers.run(new_tag, probe,
                                   entrypoint=[], remove=True, network_mode="none")
    assert marker.decode().strip() == "1"


def test_image_holds_the_node_tools(scratch_repo):
    client, repo, src = scratch_repo
    tag = ensure_image(lambda _m: None, client=client, repo=repo, root=src)
    script = ("import blake3, emulator, shutil, os; "
              "print(blake3.blake3(b'x').hexdigest()[:8]); "
              "print(all(shutil.which(t) for t in ('sshd', 'iptables', 'tc', 'ip', 'pkill'))); "
              "print(os.path.isdir('/var/lib/heliosdb'), os.listdir('/etc/ssh').count('ssh_host_rsa_key'))")
    # No PYTHONPATH: SSH sessions do not get the image's ENV, the .pth file must do it.
    out = client.containers.run(tag, ["env", "-u", "PYTHONPATH", "python3", "-c", script],
                                entrypoint=[], remove=True, network_mode="none").decode()
    import blake3
    assert out.split() == [blake3.blake3(b"x").hexdigest()[:8], "True", "True", "0"]


def test_cli_build_then_status_says_up_to_date():
    build = subprocess.run([sys.executable, "-m", "harness", "image", "build"],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    status = subprocess.run([sys.executable, "-m", "harness", "image", "status"],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    tag = build.stdout.split()[0]
    assert f"yes ({tag})" in status.stdout, status.stdout


def test_cli_missing_base_image_is_bad_input():
    done = subprocess.run([sys.executable, "-m", "harness", "image", "build",
                           "--base", "heliosdb-no-such-image:0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 254
    assert "--base" in done.stderr and "heliosdb-no-such-image:0" in done.stderr
    assert "Traceback" not in done.stderr
