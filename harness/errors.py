"""Exit codes and the errors that map onto them (layer: harness).

Exit codes follow Jepsen (DESIGN.md): 0 valid, 1 invalid, 2 unknown,
254 bad arguments or input, 255 the run could not be carried out.
"""

from remote import ControlError

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNKNOWN = 2
EXIT_BAD_INPUT = 254
EXIT_HARNESS = 255


# The run could not be carried out (provisioning, SSH, DB start): exit 255. The class is
# the leaf Remote module's ControlError, so errors raised by the nemesis, DB adapters and
# Remote implementations (which never import harness) are HarnessErrors too: every
# `except HarnessError` and the CLI's one-line handling cover them.
HarnessError = ControlError


class BadInput(HarnessError):
    """Bad arguments or input; the message names the field, file or host: exit 254."""

    exit_code = EXIT_BAD_INPUT


def exit_code_for_verdict(valid) -> int:
    """Map a three-valued verdict (True, False, "unknown") onto an exit code."""
    if valid is True:
        return EXIT_VALID
    if valid is False:
        return EXIT_INVALID
    return EXIT_UNKNOWN
