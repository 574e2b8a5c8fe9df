"""Deterministic simulation of the Raft core over many seeds (Raft Figure 3's safety
properties, thesis 6.4 linearizable reads, and liveness once the network heals).

Each seed runs thousands of ticks of message loss, duplication, reordering, partitions
(symmetric and one-way), crashes (including after persisting but before sending a
Ready), restarts from the simulated disk, clock drift, client proposals and reads, and
snapshots. The invariants are checked after every Ready, so a failure names the seed
and step; replay one with the command printed in the failure message.

Scale with RAFT_SIM_SEEDS (seeds per chunk, default 40: 240 seeds in all) and RAFT_SIM_STEPS (2000).
"""

import os

import pytest

from emulator.raft.simulation import Options, simulate

SEEDS = int(os.environ.get("RAFT_SIM_SEEDS", "40"))
STEPS = int(os.environ.get("RAFT_SIM_STEPS", "2000"))
CHUNKS = {3: 4, 5: 2}            # 3 nodes: 4 chunks, 5 nodes: 2 chunks of SEEDS seeds


def replay_hint(seed: int, nodes: int, steps: int) -> str:
    return (f"replay: RAFT_SIM_SEED={seed} RAFT_SIM_NODES={nodes} RAFT_SIM_STEPS={steps} "
            f"python -m pytest -q tests/emulator/test_raft_sim.py::test_replay_one_seed")


def run_seed(seed: int, nodes: int, steps: int) -> dict:
    try:
        return simulate(seed, Options(nodes=nodes, steps=steps))
    except AssertionError as e:
        pytest.fail(f"{e}\n{replay_hint(seed, nodes, steps)}", pytrace=False)


@pytest.mark.parametrize("nodes,chunk", [(n, c) for n, k in CHUNKS.items() for c in range(k)])
def test_safety_and_liveness_over_seeds(nodes, chunk):
    """Raft 5.2 election safety, 5.3 log matching, 5.4 leader completeness, 5.4.3 state
    machine safety, 6.4 linearizable reads; and after healing a leader commits within
    a bounded number of ticks."""
    totals = {}
    for seed in range(chunk * SEEDS, (chunk + 1) * SEEDS):
        figures = run_seed(seed + 1000 * nodes, nodes, STEPS)
        assert figures["recovery_ticks"] <= Options().liveness_ticks
        for key in ("elections", "committed", "reads_served", "reads_dropped", "crashes",
                    "partitions", "snapshots", "torn_readies"):
            totals[key] = totals.get(key, 0) + figures[key]
    # the faults really happened and the cluster still did work: the run was not vacuous
    assert totals["elections"] > SEEDS and totals["crashes"] > SEEDS and totals["partitions"] > SEEDS
    assert totals["committed"] > 100 * SEEDS and totals["reads_served"] > 50 * SEEDS
    assert totals["snapshots"] > 0 and totals["reads_dropped"] > 0 and totals["torn_readies"] > 0


def test_same_seed_same_run():
    """Determinism: a seed replays the exact same run (what makes replay useful)."""
    assert simulate(7, Options(steps=500)) == simulate(7, Options(steps=500))


@pytest.mark.skipif("RAFT_SIM_SEED" not in os.environ, reason="replays one seed: set RAFT_SIM_SEED")
def test_replay_one_seed():
    seed = int(os.environ["RAFT_SIM_SEED"])
    nodes = int(os.environ.get("RAFT_SIM_NODES", "3"))
    print(run_seed(seed, nodes, STEPS))
