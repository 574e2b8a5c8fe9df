"""Errors raised by the nemesis (layer: nemesis).

All derive from the leaf `remote.ControlError`, which is
`harness.errors.HarnessError`: the CLI prints them as one line with their
`exit_code`, and the nemesis never imports the harness.
"""

from __future__ import annotations

from remote import ControlError

EXIT_BAD_INPUT = 254


class NemesisError(ControlError):
    """A fault could not be applied or healed (exit 255): names the host and the fault."""


class NemesisUnsupported(NemesisError):
    """A fault needs a mechanism this host lacks (e.g. tc netem); raised before the run starts."""


class NoTarget(NemesisError):
    """A step's targets cannot be chosen now (no leader known, every target already down).
    Raised before anything is recorded or touched: the timeline skips the step."""


class BadSchedule(ControlError):
    """A nemesis section or schedule is malformed (exit 254); names the field."""

    exit_code = EXIT_BAD_INPUT


class Interrupted(ControlError):
    """The run was stopped by SIGINT/SIGTERM after the nemesis healed (exit 128+signal)."""

    def __init__(self, signum: int):
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by signal {signum}; the nemesis healed the cluster")
