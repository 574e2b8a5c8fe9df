"""The contested-election fault: two or more candidates in one term, on purpose (layer: nemesis).

A node that grants two votes in one term (planted bug vote-twice) elects two
leaders only when two candidates campaign in the same term and each hears the
other's request while it is itself a candidate. With pre-vote (Raft thesis
9.6) that needs their pre-votes to cross: each node must send its own
pre-vote before it reads the other's. Left to chance that window is one
message latency (about a millisecond between namespaces): resuming paused
followers together, even from one `kill -CONT`, raced in 2 of 8 trials.

This fault makes the pre-votes cross by construction:

1. cut every live follower off from every other follower (the leader stays
   reachable: its last heartbeats must arrive before step 2, never after);
2. kill the leader (it stays down for the step's `duration`, like kill-leader);
3. every follower times out within 4/3 of the election timeout and becomes a
   pre-candidate; its pre-votes to the others are dropped and wait in its TCP
   send queue (no leader, no quorum: it stays a pre-candidate);
4. `hold` seconds after the kill was ordered, end the cut on every follower at one
   wall-clock instant (scheduled on the hosts together with the kill, so SSH latency
   under load moves neither): the kernel retransmits the queued pre-votes
   (TCP RTO 0.2 s, then 0.4 s), so every follower reads the others' pre-votes
   after it sent its own. Each grants them (a pre-candidate knows no leader, so
   no lease), each then reads the others' grants behind them in the same stream
   and becomes a candidate of the same term T+1; each candidate then reads the
   other's vote request. A correct node refuses (it voted for itself); with
   vote-twice both grant and two nodes become leader of T+1.

`hold` must end the cut after every follower timed out (4/3 x election_timeout
after the kill) and before the emulator aborts a link whose data stayed
unacknowledged for 1 s (second retransmission at 0.6 s after the first
pre-vote, which is sent at least 2/3 x election_timeout after the kill). With
election_timeout_ms 300 that is 0.4 to 0.8 s after the kill; the default 0.65 s after
the kill is ordered leaves up to 0.25 s for the kill to reach the host. Above
election_timeout_ms 900 the window is empty.
"""

from __future__ import annotations

import asyncio
import shlex
import time

from ._errors import NoTarget
from ._grudge import complete_grudge

DEFAULT_HOLD_S = 0.65
# Sleeps on the host until a wall-clock instant: every host and the control node share
# the wall clock (one kernel for docker and netns; NTP to the millisecond in a lab).
_UNTIL = 'python3 -c "import time; time.sleep(max(0.0, {at!r} - time.time()))"'


async def contest_election(nem, p: dict, leader) -> str:
    """Apply the fault now; returns the kill's fault id (the run's timeline ends it after
    the step's duration, restarting the old leader). The cut is its own partition fault,
    undone on every host at one wall-clock instant `hold` s after the kill is ordered (sent
    ahead, with the kill, so SSH latency does not move it), then ended and verified as any
    fault. Both show in the history as ordinary partition and kill events. NoTarget when
    no leader is known or fewer than two followers are up."""
    lead = await leader()
    down = nem.down_nodes()
    if lead not in nem.nodes or lead in down:
        raise NoTarget("contested-election: no live leader is known to kill")
    followers = [n for n in nem.nodes if n != lead and n not in down]
    if len(followers) < 2:
        raise NoTarget(f"contested-election: needs two live followers, has "
                       f"{', '.join(followers) or 'none'}")
    grudge = {**complete_grudge([[n] for n in followers]), lead: frozenset()}
    cut = await nem.partition(grudge, shape="contested-election", node=lead)
    try:
        killed, _ = await asyncio.gather(nem.signal("kill", [lead]),
                                         undo_at(nem, cut, time.time() + p.get(
                                             "hold", DEFAULT_HOLD_S)))
    finally:
        await nem.end(cut)      # the rules are gone already: end() verifies and records
    return killed


async def undo_at(nem, fault: str, at: float) -> None:
    """Run `fault`'s undo steps (argv only) on each of its hosts at wall-clock `at`, one
    exec per host sent now. Errors are left to the `end()` that follows, which undoes
    again what is still there ("already gone" is not an error) and verifies."""
    per_host: dict[str, list] = {}
    for entry in nem.ledger.open_entries(fault):
        per_host.setdefault(entry.host, []).extend(s for s in entry.undo if isinstance(s, list))
    scripts = {h: "; ".join([_UNTIL.format(at=at), *map(shlex.join, steps)])
               for h, steps in per_host.items()}
    await asyncio.gather(*(nem.remotes[h].exec(["sh", "-c", sc], check=False, timeout=30)
                           for h, sc in scripts.items()))
