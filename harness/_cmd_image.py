"""`harness image build|status`: the node image the docker backend runs (layer: harness).

`build` makes heliosdb-node:<hash> (and :latest) offline: a debootstrap base
from this machine's apt mirror (cached as heliosdb-base:<suite>), wheels
downloaded on the host, and the emulator package. Only what is missing is
built; --force rebuilds the base and the node image from scratch; --base
IMAGE builds on an existing image instead (e.g. debian:bookworm-slim where a
registry is reachable). `status` shows what is built and whether the node
image matches the current sources. `harness run` and `harness cluster up`
build the image themselves when it is missing.
"""

from __future__ import annotations

import sys
import time

from harness.errors import BadInput


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("image", help="build or inspect the docker node image",
                              description=__doc__.split("\n\n")[1])
    sub = p.add_subparsers(dest="image_command", metavar="ACTION")
    sub.required = True
    b = sub.add_parser("build", help="build the node image offline (only what is missing)")
    b.add_argument("--force", action="store_true",
                   help="rebuild the base rootfs and the node image from scratch")
    b.add_argument("--base", metavar="IMAGE", default=None,
                   help="build on this existing image instead of the debootstrap base")
    b.set_defaults(func=run_build)
    s = sub.add_parser("status", help="show the base and node images and if they are current")
    s.set_defaults(func=run_status)


def _progress(message: str) -> None:
    print(f"image: {message}", file=sys.stderr, flush=True)


def run_build(args) -> int:
    from harness.image import docker_client, ensure_image
    client = docker_client()
    if args.base is not None:
        _check_base(client, args.base)
    started = time.monotonic()
    tag = ensure_image(_progress, force=args.force, base=args.base, client=client)
    print(f"{tag} (and {tag.split(':')[0]}:latest) in {time.monotonic() - started:.1f} s")
    return 0


def _check_base(client, base: str) -> None:
    import docker.errors
    try:
        client.images.get(base)
    except docker.errors.ImageNotFound:
        raise BadInput(f"--base: image {base!r} is not on this Docker engine "
                       f"(docker images lists what is; nothing can be pulled here)") from None
    except docker.errors.APIError as exc:
        raise BadInput(f"--base: {base!r} is not a usable image name ({exc.explanation})") from None


def run_status(args) -> int:
    from harness.image import image_status
    for what, state in image_status():
        print(f"{what:<16} {state}")
    return 0


run = run_build
