"""Operation generators; each workload says which client kind and checkers it needs
(layer: workloads).

A workload (register, set) is a client kind + generator + checker names + final
reads, blind to provisioning and to any wire protocol: the database adapter
supplies the client (workloads._client). `run_workload` drives one. To add a
workload: one file and one line in `WORKLOADS` (docs/extending.md).
"""

from workloads._base import Workload
from workloads._client import Client, Connect, Outcome
from workloads._driver import run_workload
from workloads.backup import BackupWorkload
from workloads.corruption import CorruptionWorkload
from workloads.regions import RegionsWorkload
from workloads.register import RegisterWorkload
from workloads.sets import SetWorkload, parse_set

WORKLOADS = {
    "register": RegisterWorkload,
    "set": SetWorkload,
    "backup": BackupWorkload,
    "regions": RegionsWorkload,
    "corruption": CorruptionWorkload,
}


def make_workload(name: str, **options) -> Workload:
    """The workload called `name`; ValueError naming the choices otherwise."""
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}: expected one of "
                         f"{', '.join(sorted(WORKLOADS))}")
    return WORKLOADS[name](**options)


__all__ = ["BackupWorkload", "Client", "Connect", "Outcome", "RegisterWorkload", "SetWorkload", "WORKLOADS",
           "Workload", "make_workload", "parse_set", "run_workload"]
