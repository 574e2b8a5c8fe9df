"""Errors raised by the nemesis (layer: nemesis)."""

from __future__ import annotations

from harness.errors import BadInput, HarnessError


class NemesisError(HarnessError):
    """A fault could not be applied or healed (exit 255): names the host and the fault."""


class NemesisUnsupported(NemesisError):
    """A fault needs a mechanism this host lacks (e.g. tc netem); raised before the run starts."""


class BadSchedule(BadInput):
    """A nemesis schedule in a case file is malformed (exit 254); names the field."""


class Interrupted(HarnessError):
    """The run was stopped by SIGINT/SIGTERM after the nemesis healed (exit 128+signal)."""

    def __init__(self, signum: int):
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by signal {signum}; the nemesis healed the cluster")
