"""SSH control of hosts: the Remote interface and its implementations (layer: harness/control)."""

from harness.control._remote import (CommandResult, Host, HostUnreachable, Remote,
                                     RemoteCommandError)

__all__ = ["CommandResult", "Host", "HostUnreachable", "Remote", "RemoteCommandError"]
