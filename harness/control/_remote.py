"""The Remote interface, re-exported from the leaf `remote` module (layer: harness/control).

The protocol and its types (Host, Remote, CommandResult, RemoteCommandError,
HostUnreachable, ProcessControl) live in `remote/`, which imports nothing
third-party, so nemesis and DB adapters can share them. The implementations
(SSH over asyncssh, local, netns) live beside this module.
"""

from remote import (ClockControl, CommandResult, ControlError, Host, HostUnreachable,
                    ProcessControl, Remote, RemoteCommandError)

__all__ = ["ClockControl", "CommandResult", "ControlError", "Host", "HostUnreachable",
           "ProcessControl", "Remote", "RemoteCommandError"]
