"""Config.validate: one clear ValueError per broken rule, naming the field (STYLE.md 5)."""

import random

import pytest

from emulator.raft import Config, RaftCore

PEERS = ("n1", "n2", "n3")


@pytest.mark.parametrize("overrides,field", [
    ({"id": ""}, "id"),
    ({"peers": ("n2", "n3")}, "peers"),
    ({"peers": ("n1", "n1", "n2")}, "peers"),
    ({"peers": ["n1", "n2"]}, "peers"),
    ({"heartbeat_ticks": 0}, "heartbeat_ticks"),
    ({"election_ticks": 0}, "election_ticks"),
    ({"election_ticks": 2, "heartbeat_ticks": 2}, "election_ticks"),
    ({"max_entries_per_append": 0}, "max_entries_per_append"),
    ({"bugs": frozenset({"ack-before-fsync"})}, "bugs"),
])
def test_each_broken_rule_names_its_field(overrides, field):
    config = Config(**{"id": "n1", "peers": PEERS, **overrides})
    with pytest.raises(ValueError, match=f"^{field}: "):
        config.validate()
    with pytest.raises(ValueError, match=f"^{field}: "):
        RaftCore(config, rng=random.Random(0))


def test_valid_configs_pass():
    Config("n1", PEERS).validate()
    Config("n1", ("n1",), bugs=frozenset({"vote-twice", "lease-no-check-quorum"})).validate()
    assert Config("n1", PEERS).quorum == 2 and Config("a", tuple("abcde")).quorum == 3
