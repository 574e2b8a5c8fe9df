"""Operation generators and clients; each workload says which checkers apply (layer: workloads).

A workload (register, set) is client + generator + checkers + final reads,
blind to provisioning; `run_workload` drives one against a dict of
node name -> (host, port). See workloads/_driver.py for the contract.
"""

from workloads._base import Workload
from workloads._client import Client, Outcome
from workloads._driver import run_workload
from workloads.register import RegisterWorkload
from workloads.sets import SetWorkload, parse_set

WORKLOADS = {"register": RegisterWorkload, "set": SetWorkload}


def make_workload(name: str, **options) -> Workload:
    """The workload called `name`; ValueError naming the choices otherwise."""
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}: expected one of "
                         f"{', '.join(sorted(WORKLOADS))}")
    return WORKLOADS[name](**options)


__all__ = ["Client", "Outcome", "RegisterWorkload", "SetWorkload", "WORKLOADS", "Workload",
           "make_workload", "parse_set", "run_workload"]
