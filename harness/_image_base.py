"""The offline base image: debootstrap minbase rootfs imported with `docker import` (layer: harness).

Built once from the machine's configured apt mirror (harness._apt_source)
and cached as heliosdb-base:<suite>. Its python3 version is stored as an
image label so the host can fetch matching wheels without running it.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

import docker
import docker.errors

from harness._apt_source import AptSource, apt_source
from harness.errors import HarnessError

BASE_REPO = "heliosdb-base"
PYTHON_LABEL = "heliosdb-harness.python"
# Images carry their own key, not the run LABEL: containers inherit image
# labels, and sweeping by LABEL must only find containers a run created.
IMAGE_LABEL = "heliosdb-harness.image"
# What a node needs: the emulator's interpreter, sshd, and the fault tools
# (iptables, tc from iproute2, kill/pkill from procps and psmisc).
# etcd-server / etcd-client: the second database under test (harness/db/etcd.py).
PACKAGES = ("python3", "openssh-server", "iptables", "iproute2", "procps", "psmisc",
            "iputils-ping", "etcd-server", "etcd-client")
# The base records the package list it was built with; a base built with another
# list is rebuilt, so adding a package reaches machines that cached an older base.
PACKAGES_LABEL = "heliosdb-harness.packages"
# Trimmed from the rootfs: package caches, docs and locales nobody reads in a node.
_TRIM = ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
         "usr/share/doc/*", "usr/share/man/*", "usr/share/locale/*", "etc/ssh/ssh_host_*")
_DEBOOTSTRAP_TIMEOUT = 900
# Per-package debootstrap lines; the phases in between are the progress shown.
_CHATTY = ("Retrieving", "Validating", "Extracting", "Unpacking", "Configuring")

Progress = Callable[[str], None]


def base_tag(source: AptSource | None = None) -> str:
    """heliosdb-base:<suite of the configured mirror>."""
    try:
        suite = (source or apt_source()).suite
    except HarnessError:
        suite = "bookworm"
    return f"{BASE_REPO}:{suite}"


def ensure_base(client: docker.DockerClient, progress: Progress, *, force: bool = False) -> str:
    """Return the base image tag, running debootstrap and `docker import` if it is missing."""
    source = apt_source()
    tag = base_tag(source)
    previous = _image_id(client, tag)
    if previous and not force and _packages(client, tag) == ",".join(PACKAGES):
        return tag
    if shutil.which("debootstrap") is None:
        raise HarnessError(f"base image {tag} is missing and debootstrap is not installed: "
                           f"apt-get install debootstrap (or scripts/install), "
                           f"or pass --base IMAGE")
    with tempfile.TemporaryDirectory(prefix="heliosdb-base-", dir="/var/tmp") as work:
        root = Path(work) / "root"
        started = time.monotonic()
        _debootstrap(source, root, progress)
        pyver = _rootfs_python(root)
        _trim(root)
        _import(client, root, Path(work) / "rootfs.tar", tag, pyver, progress)
        progress(f"base image {tag} built in {time.monotonic() - started:.0f} s")
    if previous and previous != _image_id(client, tag):
        _remove_quietly(client, previous)
    return tag


def _image_id(client: docker.DockerClient, tag: str) -> str | None:
    try:
        return client.images.get(tag).id
    except docker.errors.ImageNotFound:
        return None


def _packages(client: docker.DockerClient, tag: str) -> str | None:
    return (client.images.get(tag).labels or {}).get(PACKAGES_LABEL)


def _remove_quietly(client: docker.DockerClient, image_id: str) -> None:
    """Drop a replaced base; images still built on it keep it alive (engine refuses)."""
    try:
        client.images.remove(image_id)
    except docker.errors.APIError:
        pass


def _debootstrap(source: AptSource, root: Path, progress: Progress) -> None:
    argv = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}"]
    if source.keyring and Path(source.keyring).is_file():
        argv.append(f"--keyring={source.keyring}")
    argv += [source.suite, str(root), source.uri]
    progress(f"debootstrap {source.suite} from {source.uri} (about a minute)")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    try:
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-8:]
            if line.startswith("I: ") and not line[3:].startswith(_CHATTY):
                progress(f"debootstrap: {line[3:].strip()}")
        status = proc.wait(timeout=_DEBOOTSTRAP_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if status != 0:
        raise HarnessError(f"debootstrap {source.suite} {source.uri} failed (exit {status}): "
                           + " | ".join(tail))


def _rootfs_python(root: Path) -> str:
    found = sorted(re.fullmatch(r"python(3\.\d+)", Path(p).name).group(1)
                   for p in glob.glob(str(root / "usr/bin/python3.*"))
                   if re.fullmatch(r"python3\.\d+", Path(p).name))
    if not found:
        raise HarnessError(f"debootstrap produced no python3 in {root}/usr/bin")
    return found[-1]


def _trim(root: Path) -> None:
    for pattern in _TRIM:
        for p in glob.glob(str(root / pattern)):
            if Path(p).is_dir() and not Path(p).is_symlink():
                shutil.rmtree(p)
            else:
                Path(p).unlink()


def _import(client, root: Path, tar: Path, tag: str, pyver: str, progress: Progress) -> None:
    progress(f"importing {tag}")
    subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(tar), "."],
                   check=True, capture_output=True)
    repo, _, name = tag.partition(":")
    changes = [f"LABEL {IMAGE_LABEL}=base", f"LABEL {PYTHON_LABEL}={pyver}",
               f"LABEL {PACKAGES_LABEL}={','.join(PACKAGES)}",
               'CMD ["/bin/bash"]']
    out = client.api.import_image_from_file(str(tar), repository=repo, tag=name,
                                            changes=changes)
    if "error" in str(out).lower():
        raise HarnessError(f"docker import of {tag} failed: {out}")
