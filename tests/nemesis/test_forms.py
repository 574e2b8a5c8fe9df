"""A case's `nemesis:` section is validated in one place, strictly (nemesis.check_section,
build_schedule): unknown keys suggest the closest name, NaN/inf and out-of-range values are
refused, forms do not mix, and the number of steps is bounded before any is built."""

import pytest

from nemesis import BadSchedule, MAX_STEPS, build_schedule, check_section

NODES = ["n1", "n2", "n3", "n4", "n5"]
NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("section,msg", [
    ([], "nemesis: must be a mapping"),
    ({}, "nemesis: needs one of faults, timeline, topologies, cascade"),
    ({"faults": ["kill-one"], "timeline": [{"at": 1, "fault": "kill"}]},
     "conflicting forms 'faults' and 'timeline'"),
    ({"cascade": {}, "topologies": {}}, "conflicting forms 'topologies' and 'cascade'"),
    ({"faults": ["kill-one"], "intervall": 3},
     "unknown key 'intervall' \\(did you mean 'interval'\\?\\)"),
    ({"timeline": [{"at": 1, "fault": "kill"}], "interval": 3},
     "nemesis.interval: not used with 'timeline'"),
    ({"timeline": []}, "nemesis.timeline: must be a non-empty list"),
    ({"timeline": None}, "nemesis.timeline: must be a non-empty list"),
    ({"timeline": [{"at": 1, "fault": "kill", "duraton": 3}]},
     r"nemesis.timeline\[0\]: unknown key 'duraton' \(did you mean 'duration'\?\)"),
    ({"timeline": [{"at": 1, "fault": "kil"}]}, r"did you mean 'kill'\?"),
    ({"timeline": [{"at": NAN, "fault": "kill"}]}, r"timeline\[0\].at: must be a finite number"),
    ({"timeline": [{"at": 1, "fault": "kill", "duration": -2}]},
     r"timeline\[0\].duration: must be >= 0"),
    ({"timeline": [{"at": 1, "fault": "kill", "duration": INF}]},
     r"timeline\[0\].duration: must be a finite number"),
    ({"timeline": [{"at": 1, "fault": "loss", "probability": 7}]},
     r"timeline\[0\].probability: must be <= 1"),
    ({"timeline": [{"at": 1, "fault": "loss", "probability": 0}]},
     r"timeline\[0\].probability: must be > 0"),
    ({"timeline": [{"at": True, "fault": "kill"}]},
     r"timeline\[0\].at: must be a number, got bool"),
    ({"timeline": [{"at": 1, "fault": "partition", "shape": "halfs"}]},
     r"did you mean 'halves'\?"),
    ({"timeline": [{"at": 1, "fault": "partition", "shape": "halves", "node": "n1"}]},
     r"\.node: only shape 'isolate-one' takes a node"),
    ({"timeline": [{"at": 1, "fault": "partition", "shape": "isolate-one", "node": "n9"}]},
     r"\.node: unknown node 'n9'"),
    ({"timeline": [{"at": 1, "fault": "bitflip", "node": "n1"}]}, "needs 'path'"),
    ({"timeline": [{"at": 1, "fault": "bitflip", "node": "../n1", "path": "/x"}]},
     r"\.node: must be a node name"),
    ({"timeline": [{"at": 1, "fault": "bandwidth", "rate": "fast"}]},
     r"\.rate: must be a tc rate"),
    ({"timeline": [{"at": 1, "fault": "bandwidth", "toward": "n9"}]},
     r"\.toward: unknown node 'n9'"),
    ({"timeline": [{"at": 1, "fault": "bandwidth", "toward": "n1", "targets": ["n2"]}]},
     r"give 'targets' \(shape those hosts' egress\) or 'toward'"),
    ({"timeline": [{"at": 1, "fault": "wal-bitflip", "seed": 3}]}, "needs 'node'"),
    ({"timeline": [{"at": 1, "fault": "wal-bitflip", "node": "n1", "path": "../etc/x y"}]},
     r"\.path: must be"),
    ({"timeline": [{"at": 1, "fault": "clock-strobe", "period_s": 0.01, "strobe_s": 1000}]},
     "clock flips; at most"),
    ({"timeline": [{"at": 1e9, "fault": "kill"}]}, r"\.at: must be <= 86400"),
    ({"timeline": ["kill-one"]}, r"timeline\[0\]: a timeline step must be a mapping"),
    ({"faults": [["kill"]]}, r"faults\[0\]: a fault must be a name or a mapping"),
    ({"faults": [{"fault": "kill", "targets": "everyone"}]}, r"targets: unknown value 'everyone'"),
    ({"faults": [{"targets": "one"}]}, r"faults\[0\]: a fault mapping needs 'fault'"),
    ({"faults": ["kill-one"], "interval": NAN}, "nemesis.interval: must be a finite number"),
    ({"faults": ["kill-one"], "seed": 1.5}, "nemesis.seed: must be an integer"),
    ({"faults": ["kill-one"], "interval": 1e-7, "duration": 0}, "interval: must be >= 0.001"),
    ({"faults": ["kill-one"], "interval": 0.001, "duration": 0},
     f"makes 57000 steps; at most {MAX_STEPS}"),
    ({"cascade": {"every": 1e-7, "hold": 1e-7}}, f"at most {MAX_STEPS}"),
    ({"cascade": {"every": 2, "hold": 2, "gap": 1}}, r"nemesis.cascade: unknown key 'gap'"),
    ({"cascade": {"every": -1}}, "nemesis.cascade.every: must be > 0"),
    ({"cascade": "fast"}, "nemesis.cascade: must be a mapping"),
    ({"topologies": {"hold": INF}}, "nemesis.topologies.hold: must be a finite number"),
    ({1: 2}, "nemesis: unknown key 1"),
    ({"timeline": [{"at": 1, "fault": "kill", None: 1}]}, "unknown key None"),
])
def test_bad_sections_are_refused_naming_the_field(section, msg):
    with pytest.raises(BadSchedule, match=msg) as err:
        build_schedule(section, NODES, 0, 60)
    assert "\n" not in str(err.value) and err.value.exit_code == 254


@pytest.mark.parametrize("section", [
    {"faults": ["kill-one"]},
    {"faults": ["partition-majority-minority", {"fault": "loss", "probability": 1}],
     "interval": 8, "duration": 4, "seed": 3},
    {"timeline": [{"at": 0, "fault": "clock", "mode": "skew", "max_ms": 100},
                  {"at": 2, "fault": "netem", "delay_ms": 5, "duplicate": 0, "targets": ["n1"]},
                  {"at": 4, "fault": "truncate", "node": "n2", "path": "/var/wal",
                   "drop_bytes": 3}]},
    {"topologies": None},
    {"topologies": {"hold": 3, "gap": 1.5}},
    {"cascade": {"every": 4, "hold": 4}},
])
def test_good_sections_pass_and_build(section):
    assert check_section(section)[0] in section
    assert build_schedule(section, NODES, 0, 60).steps


def test_step_bound_is_exact():
    ok = {"faults": ["kill-one"], "interval": 0.01, "duration": 0}
    total = 3.0 + MAX_STEPS * 0.01
    assert len(build_schedule(ok, NODES, 0, total).steps) == MAX_STEPS
    with pytest.raises(BadSchedule, match="at most"):
        build_schedule(ok, NODES, 0, total + 0.02)


def test_one_way_direction_needs_a_two_component_shape():
    with pytest.raises(BadSchedule, match="one-way applies to shapes with two components"):
        build_schedule({"timeline": [{"at": 1, "fault": "partition", "shape": "bridge",
                                      "direction": "one-way"}]}, NODES, 0, 60)


VALUES = [0, 1, 2.5, -1, 7, 1e-7, 1e9, NAN, INF, True, None, "", "x", "n1", "n9", "../n1",
          "/var/wal", "one", "leader", "halves", "isolate-one", "one-way", "skew", "1mbit",
          [], ["n1"], ["n1", "n1"], ["n9"], {}, {"a": 1}, 10 ** 30]
KEYS = ["at", "fault", "duration", "duraton", "targets", "nodes", "shape", "node", "direction",
        "probability", "peers", "rate", "delay_ms", "jitter_ms", "duplicate", "reorder", "mode",
        "max_ms", "delta_ms", "period_s", "strobe_s", "path", "seed", "drop_bytes", 1, None]


def _random_step(rng):
    from nemesis import FAULTS
    step = {"at": rng.choice([0, 1, 5, rng.choice(VALUES)]),
            "fault": rng.choice(list(FAULTS) + ["melt", None, 3])}
    for _ in range(rng.randint(0, 4)):
        step[rng.choice(KEYS)] = rng.choice(VALUES)
    return step


def _random_section(rng):
    form = rng.choice(["faults", "timeline", "topologies", "cascade", "mixed"])
    if form == "timeline":
        section = {"timeline": [_random_step(rng) for _ in range(rng.randint(0, 4))]}
    elif form == "faults":
        from nemesis import SHORTHAND
        section = {"faults": [rng.choice(sorted(SHORTHAND) + [_random_step(rng), 5])
                              for _ in range(rng.randint(0, 3))],
                   "interval": rng.choice([8, 0.5, rng.choice(VALUES)]),
                   "duration": rng.choice([4, 0.1, rng.choice(VALUES)])}
    elif form in ("topologies", "cascade"):
        section = {form: {rng.choice(["hold", "gap", "every", "bogus"]): rng.choice(VALUES)
                          for _ in range(rng.randint(0, 2))}}
    else:
        section = {"faults": ["kill-one"], "cascade": {}}
    if rng.random() < 0.2:
        section[rng.choice(KEYS + ["seed", "interval"])] = rng.choice(VALUES)
    return section


def test_fuzzed_sections_are_refused_in_one_line_or_build_bounded_schedules():
    import random
    rng = random.Random(11)
    built = refused = 0
    for i in range(3000):
        section = _random_section(rng)
        try:
            sch = build_schedule(section, NODES[: rng.choice([1, 3, 5])], rng.randrange(99), 60)
        except BadSchedule as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 2000, (i, section)
            refused += 1
        except Exception as exc:
            pytest.fail(f"section {i} {section!r} raised {type(exc).__name__}: {exc}")
        else:
            assert 0 < len(sch.steps) <= MAX_STEPS, (i, section)
            built += 1
    assert refused > 1000 and built > 300, (refused, built)
