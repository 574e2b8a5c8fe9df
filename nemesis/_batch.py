"""Run several argv steps on one host in a single exec (layer: nemesis).

Every exec over SSH costs a session round trip (tens of ms on a loaded
machine), so a fault's steps on one host go in one `sh -c` script that
reports, per step, its exit status and stderr. `stop_on_error` stops at the
first failing step (applying); otherwise every step runs (undoing).
"""

from __future__ import annotations

import shlex
from typing import Sequence

from harness.control import Remote

_STEP = ('e=$({argv} 2>&1 >/dev/null); r=$?; '
         'printf "%s\\t%s\\t%s\\n" {i} "$r" "$(printf %s "$e" | tr "\\n\\t" "  ")"')


def script(steps: Sequence[Sequence[str]], stop_on_error: bool) -> str:
    parts = []
    for i, argv in enumerate(steps):
        parts.append(_STEP.format(argv=shlex.join(argv), i=i))
        if stop_on_error:
            parts.append('[ "$r" -eq 0 ] || exit 0')
    return "\n".join(parts) + "\n"


async def run_steps(remote: Remote, steps: Sequence[Sequence[str]], *,
                    stop_on_error: bool) -> list[tuple[int, str]]:
    """[(exit_status, stderr)] for each step that ran, in order."""
    if not steps:
        return []
    res = await remote.exec(["sh", "-c", script(steps, stop_on_error)], timeout=60)
    out = []
    for line in res.stdout.splitlines():
        i, rc, err = (line.split("\t", 2) + ["", ""])[:3]
        out.append((int(rc), err))
    return out
