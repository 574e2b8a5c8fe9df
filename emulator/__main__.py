"""Entry point: `python -m emulator --id n1 --listen HOST:PORT --peers n1=HOST:PORT,... --data DIR`
(layer: emulator shell); `python -m emulator restore|verify ...` are the offline backup
repository commands of `emulator.restore`.

Start-up problems (bad flags, a data directory of another cluster, an unusable
listen address, a corrupt WAL or snapshot) print one line on stderr and exit
254. Logs go to stderr, one readable line each, stamped with the node's
(skewable) wall clock. SIGTERM shuts down cleanly (exit 0).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time

from .clock import Clock
from .errors import EXIT_BAD_START, StartupError
from .options import claim_data_dir, parse


def _setup_logging(node_id: str, clock: Clock) -> None:
    class _Fmt(logging.Formatter):
        def formatTime(self, record, datefmt=None):
            t = clock.wall()
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Fmt(f"%(asctime)s %(levelname)s {node_id} %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("restore", "verify"):
        from .restore import main as repo_main  # offline backup-repository commands
        return repo_main(argv)
    if argv and argv[0] == "repair":
        from .repair import main as repair_main  # repair a repository copy from regions
        return repair_main(argv[1:])
    if argv and argv[0] == "region-store":
        from .region import main as region_main  # a region host's backup store
        return region_main(argv[1:])
    clock = Clock()
    try:
        opts = parse(argv)
        claim_data_dir(opts)
        clock.attach(opts.data)
        _setup_logging(opts.id, clock)
        from .server import Server  # after flag checks: a bad flag never needs the core
        asyncio.run(Server(opts, clock).serve())
    except StartupError as e:
        print(f"emulator: {e}", file=sys.stderr)
        return EXIT_BAD_START
    return 0


if __name__ == "__main__":
    sys.exit(main())
