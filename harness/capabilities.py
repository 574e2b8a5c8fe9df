"""Does the chosen database offer what a case asks for? (layer: harness)

Checked after the case and options are validated and before anything is
provisioned: a case whose nemesis or workloads need a capability the
database does not declare is refused with one line naming the case, the
fault or operation, and the database (BadInput, exit 254).
"""

from __future__ import annotations

import nemesis
from harness.errors import BadInput

# The DB capability each fault needs, from the fault registry (network faults need none).
FAULT_NEEDS = {name: f.needs for name, f in nemesis.FAULTS.items() if f.needs}


def needs(case, schedule) -> list[tuple[str, str]]:
    """(what, capability) pairs the case needs: its faults, its workloads' clients and
    their final reads, and any capability the case's workloads declare (`needs`)."""
    from workloads import WORKLOADS
    out = []
    for step in schedule.steps:
        cap = FAULT_NEEDS.get(step.fault)
        if cap:
            out.append((f"fault {step.fault!r}", cap))
    for spec in case.workloads:
        cls = WORKLOADS[spec["name"]]
        if cls.kind:     # None: the workload drives the adapter, no data-model client
            out.append((f"workload {spec['name']!r}", f"client:{cls.kind}"))
        out += [(f"workload {spec['name']!r}", cap) for cap in getattr(cls, "needs", ())]
    return out


def check(case, schedule, db_cls) -> None:
    """BadInput for the first need the database lacks."""
    for what, cap in needs(case, schedule):
        if cap.startswith("client:"):
            kind = cap.split(":", 1)[1]
            if kind not in db_cls.client_kinds:
                raise BadInput(f"case {case.id}: {what} needs a {kind!r} client, which "
                               f"database {db_cls.name!r} does not offer (it offers "
                               f"{', '.join(db_cls.client_kinds) or 'none'})")
        elif cap not in db_cls.capabilities:
            why = getattr(db_cls, "lacks", {}).get(cap, "")
            raise BadInput(f"case {case.id}: {what} needs capability {cap!r}, which database "
                           f"{db_cls.name!r} does not have{': ' + why if why else ''}")
