"""`harness list`: the test catalogue, one line per case (layer: harness)."""

from __future__ import annotations

import json

from harness.cases import catalogue, load_case


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="list the test catalogue")
    p.add_argument("--json", action="store_true", help="one JSON object per case")
    p.set_defaults(func=run)


def run(args) -> int:
    cases = [(path, load_case(str(path))) for path in catalogue()]
    width = max((len(c.id) for _, c in cases), default=10)
    for path, case in cases:
        if args.json:
            print(json.dumps({"id": case.id, "title": case.title, "proves": case.proves,
                              "nodes": case.nodes, "node_counts": case.node_counts,
                              "file": str(path)}))
        else:
            print(f"{case.id:<{width}}  {case.title} (default {case.nodes} nodes)")
    return 0
