"""Run several argv steps on one host in a single exec (layer: nemesis).

Every exec over SSH costs a session round trip (tens of ms on a loaded
machine), so a fault's steps on one host go in one `sh -c` script that
reports, per step, its exit status and stderr. `stop_on_error` stops at the
first failing step (applying); otherwise every step runs (undoing).

Each iptables change is its own netfilter transaction (about 12 ms here), so a
run of plain filter-table iptables steps is first tried as one
`iptables-restore --noflush` transaction. That is all-or-nothing: if it fails
(say a rule to delete is already gone) nothing changed, and the steps run one
by one as before, so per-step results and "already gone" tolerance stay.
"""

from __future__ import annotations

import shlex
from typing import Sequence

from remote import Remote

_STEP = ('e=$({argv} 2>&1 >/dev/null); r=$?; '
         'printf "%s\\t%s\\t%s\\n" {i} "$r" "$(printf %s "$e" | tr "\\n\\t" "  ")"')


def script(steps: Sequence[Sequence[str]], stop_on_error: bool) -> str:
    parts = []
    for i, argv in enumerate(steps):
        parts.append(_STEP.format(argv=shlex.join(argv), i=i))
        if stop_on_error:
            parts.append('[ "$r" -eq 0 ] || exit 0')
    return "\n".join(parts) + "\n"


def restore_batch(steps: Sequence[Sequence[str]]) -> tuple[list[str], str] | None:
    """(argv, stdin) of one `<iptables>-restore --noflush` applying every step, or None
    when the steps are not all `<iptables> -w ...` commands on the filter table."""
    if not steps or not steps[0][0].startswith("iptables"):
        return None
    binary, lines = steps[0][0], []
    for argv in steps:
        if (argv[0] != binary or list(argv[1:2]) != ["-w"] or "-t" in argv
                or any('"' in a or "\n" in a for a in argv)):
            return None
        lines.append(" ".join(f'"{a}"' if (" " in a or not a) else a for a in argv[2:]))
    return [f"{binary}-restore", "-w", "--noflush"], "*filter\n" + "\n".join(lines) + "\nCOMMIT\n"


async def run_steps(remote: Remote, steps: Sequence[Sequence[str]], *,
                    stop_on_error: bool) -> list[tuple[int, str]]:
    """[(exit_status, stderr)] for each step that ran, in order."""
    if not steps:
        return []
    batch = restore_batch(steps)
    if batch is not None:
        res = await remote.exec(batch[0], stdin=batch[1].encode(), check=False, timeout=60)
        if res.exit_status == 0:
            return [(0, "")] * len(steps)
    res = await remote.exec(["sh", "-c", script(steps, stop_on_error)], timeout=60)
    out = []
    for line in res.stdout.splitlines():
        i, rc, err = (line.split("\t", 2) + ["", ""])[:3]
        out.append((int(rc), err))
    return out
