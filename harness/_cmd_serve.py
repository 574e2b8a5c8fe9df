"""`harness serve`: browse a result store in a web browser (layer: harness).

Serves the store read-only over HTTP (standard library, one thread per
request) on loopback by default: an index of runs and campaigns newest first
coloured by verdict, each run's files, and its report.html (generated on first
view). Paths are confined to the store. Prints the URL, serves until Ctrl-C
(exit 0). Exit 254 when the store is not a directory or the port is taken.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import BadInput


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="browse runs and campaigns of a store over HTTP",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("--store", default="store", help="result store directory (default ./store)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0: any free)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, loopback only)")
    p.add_argument("--verbose", action="store_true", help="log every request on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    from harness.reports._server import make_server
    store = Path(args.store)
    if not store.is_dir():
        raise BadInput(f"--store {args.store}: not a directory (run `harness run` first, "
                       f"or pass --store DIR)")
    if not 0 <= args.port <= 65535:
        raise BadInput(f"--port {args.port}: expected 0..65535")
    try:
        server = make_server(store, args.host, args.port, quiet=not args.verbose)
    except OSError as exc:
        raise BadInput(f"--host {args.host} --port {args.port}: cannot listen: "
                       f"{exc.strerror or exc}") from None
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {store.resolve()} at http://{shown}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
