"""SSH control of hosts: implementations of the leaf `remote` protocol, re-exported here (layer: harness/control)."""

from harness.control._keys import generate_keypair, public_key_line, write_private
from harness.control._local import LocalRemote, local_host, run_local
from harness.control._parallel import close_all, connect_all, on_all
from harness.control._remote import (ClockControl, CommandResult, ControlError, Host,
                                     HostUnreachable, ProcessControl, Remote, RemoteCommandError)
from harness.control._ssh import SshRemote

__all__ = ["ClockControl", "CommandResult", "ControlError", "Host", "HostUnreachable",
           "LocalRemote", "ProcessControl", "Remote",
           "RemoteCommandError", "SshRemote", "close_all", "connect_all", "generate_keypair",
           "local_host", "on_all", "public_key_line", "run_local", "write_private"]
