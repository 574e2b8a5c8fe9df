"""Build the node image offline (layer: harness).

The Docker engine may have no registry, so nothing can be pulled. The base
image (heliosdb-base:<suite>) is a debootstrap minbase root filesystem from
the machine's own apt mirror, imported with `docker import` and cached. The
node image (heliosdb-node:<hash>, also tagged :latest) is built from
Dockerfile.node on that base, with the Python wheels the node needs
downloaded on the host and unpacked in the image without network access,
and the emulator/ package copied to /opt/heliosdb. The tag hashes the whole
build context and the base image id, so any change rebuilds.

`ensure_image(progress)` is what the docker backend calls before `up`.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import docker
import docker.errors

from harness.errors import HarnessError
from harness import _image_base

NODE_REPO = "heliosdb-node"
WHEELS = ("blake3",)
REPO_ROOT = Path(__file__).resolve().parents[1]
_CONTEXT_DIRS = ("emulator", "compose")
_SKIP = ("__pycache__", ".pyc", ".pyo")

Progress = Callable[[str], None]


def docker_client() -> docker.DockerClient:
    """A client for the local engine, or HarnessError saying none answers."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        raise HarnessError(f"no Docker engine answers ({exc}); start it "
                           f"(systemctl start docker) or use --backend netns") from None


def ensure_image(progress: Progress, *, force: bool = False, base: str | None = None,
                 client: docker.DockerClient | None = None, repo: str = NODE_REPO,
                 root: Path = REPO_ROOT) -> str:
    """Return the tag of an up-to-date node image, building what is missing.

    `base` is an existing image to build on (e.g. debian:bookworm-slim where a
    registry exists); by default the offline debootstrap base, built once and
    cached. `force` rebuilds the base and the node image from scratch. `repo`
    names the image repository and `root` the source tree holding
    Dockerfile.node, compose/ and emulator/ (tests use their own of both).
    Serialised across processes by a lock file, so parallel runs build once.
    """
    client = client or docker_client()
    with _build_lock():
        base_tag = base or _image_base.ensure_base(client, progress, force=force)
        pyver = _python_version(client, base_tag)
        wheels = ensure_wheels(pyver, progress) if pyver else []
        files = context_files(wheels, root)
        tag = f"{repo}:{context_hash(files, _image_id(client, base_tag))}"
        if force or not _image_exists(client, tag):
            _build(client, files, tag, base_tag, progress, offline=bool(wheels) and not base,
                   nocache=force)
        client.api.tag(tag, repo, "latest")
        _untag_stale(client, repo, keep=tag)
        progress(f"image {tag} ready")
        return tag


def image_status(client: docker.DockerClient | None = None) -> list[tuple[str, str]]:
    """(what, state) pairs for `harness image status`; builds nothing."""
    client = client or docker_client()
    rows = []
    for repo in (_image_base.BASE_REPO, NODE_REPO):
        images = client.images.list(name=repo)
        tags = sorted(t for i in images for t in i.tags)
        rows.append((repo, ", ".join(tags) if tags else "missing"))
    latest = _image_exists(client, f"{NODE_REPO}:latest")
    rows.append(("up to date", _up_to_date(client) if latest else "no (not built)"))
    return rows


def _up_to_date(client: docker.DockerClient) -> str:
    base_tag = _image_base.base_tag()
    if not _image_exists(client, base_tag):
        return f"unknown (default base {base_tag} missing)"
    pyver = _python_version(client, base_tag)
    wheels = _cached_wheels(pyver) if pyver else []
    tag = f"{NODE_REPO}:{context_hash(context_files(wheels), _image_id(client, base_tag))}"
    return f"yes ({tag})" if _image_exists(client, tag) else f"no: {tag} would be built"


def context_files(wheels: list[Path], root: Path = REPO_ROOT) -> list[tuple[str, Path]]:
    """(name in the build context, source path), sorted: what the image is built from."""
    dockerfile = root / "Dockerfile.node"
    if not dockerfile.is_file():
        raise HarnessError(f"{dockerfile} not found: the node image is built from it; "
                           f"run the harness from a checkout (pip install -e .)")
    files = [("Dockerfile.node", dockerfile)]
    for d in _CONTEXT_DIRS:
        for p in sorted((root / d).rglob("*")):
            if p.is_file() and not any(s in p.name or s in p.parts for s in _SKIP) \
                    and "wheels" not in p.relative_to(root).parts:
                files.append((str(p.relative_to(root)), p))
    files += [(f"compose/wheels/{w.name}", w) for w in wheels]
    return sorted(files)


def context_hash(files: list[tuple[str, Path]], base_id: str) -> str:
    """12 hex digits over the base image id and every context file's name and bytes."""
    h = hashlib.sha256(base_id.encode())
    for name, path in files:
        h.update(b"\0" + name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def ensure_wheels(pyver: str, progress: Progress) -> list[Path]:
    """Binary wheels of WHEELS for the image's CPython `pyver` (e.g. "3.11"), cached.

    Pinned to the versions installed on the control node where there are any,
    so the node and the harness agree.
    """
    cached = _cached_wheels(pyver)
    if len(cached) >= len(WHEELS):
        return cached
    dest = _wheel_dir(pyver)
    dest.mkdir(parents=True, exist_ok=True)
    progress(f"downloading wheels {', '.join(WHEELS)} for CPython {pyver}")
    arch = platform.machine()
    plats = [f"--platform=manylinux_2_{v}_{arch}" for v in (17, 28, 34)]
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--only-binary=:all:", "--no-deps", "--implementation=cp",
            f"--python-version={pyver}", *plats, "-d", str(dest), *_pinned(WHEELS)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise HarnessError(f"pip download of {', '.join(WHEELS)} failed "
                           f"(exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return _cached_wheels(pyver)


def _pinned(names: tuple[str, ...]) -> list[str]:
    out = []
    for name in names:
        try:
            out.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(name)
    return out


def _cached_wheels(pyver: str) -> list[Path]:
    d = _wheel_dir(pyver)
    return sorted(d.glob("*.whl")) if d.is_dir() else []


def _wheel_dir(pyver: str) -> Path:
    return cache_dir() / "wheels" / f"cp{pyver.replace('.', '')}-{platform.machine()}"


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "heliosdb-harness"


@contextmanager
def _build_lock() -> Iterator[None]:
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / "image-build.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _python_version(client: docker.DockerClient, image: str) -> str | None:
    """The image's python3 "X.Y": from the base label, else by running it; None if absent."""
    labels = client.images.get(image).labels or {}
    if labels.get(_image_base.PYTHON_LABEL):
        return labels[_image_base.PYTHON_LABEL]
    try:
        out = client.containers.run(
            image, ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            remove=True, network_mode="none")
        return out.decode().strip() or None
    except docker.errors.DockerException:
        return None


def _build(client, files, tag, base_tag, progress, *, offline: bool, nocache: bool) -> None:
    progress(f"building {tag} on {base_tag}{' (no network)' if offline else ''}")
    with tempfile.TemporaryDirectory(prefix="heliosdb-ctx-") as ctx:
        for name, src in files:
            (Path(ctx) / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, Path(ctx) / name)
        stream = client.api.build(
            path=ctx, dockerfile="Dockerfile.node", tag=tag, buildargs={"BASE": base_tag},
            labels={_image_base.IMAGE_LABEL: "node"}, rm=True, forcerm=True, decode=True, nocache=nocache,
            network_mode="none" if offline else None)
        _follow_build(stream, tag, progress)


def _follow_build(stream, tag: str, progress: Progress) -> None:
    tail: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            raise HarnessError(f"building {tag} failed: {chunk['error'].strip()}; "
                               f"last output: {' | '.join(tail[-5:])}")
        line = chunk.get("stream", "").strip()
        if line:
            tail.append(line)
            if line.startswith("Step "):
                progress(line if len(line) <= 100 else line[:97] + "...")


def _untag_stale(client: docker.DockerClient, repo: str, keep: str) -> None:
    """Drop older heliosdb-node:<hash> tags so rebuilds do not pile up; an image
    a container still uses stays (the engine refuses, which is fine)."""
    for image in client.images.list(name=repo):
        for t in image.tags:
            if t not in (keep, f"{repo}:latest"):
                try:
                    client.images.remove(t)
                except docker.errors.APIError:
                    pass


def _image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def _image_id(client: docker.DockerClient, tag: str) -> str:
    try:
        return client.images.get(tag).id
    except docker.errors.ImageNotFound:
        raise HarnessError(f"base image {tag} not found; build it with "
                           f"`harness image build` or name an existing one with --base") from None
