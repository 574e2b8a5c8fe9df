"""SSH control of hosts: the Remote interface and its implementations (layer: harness/control)."""

from harness.control._keys import generate_keypair, public_key_line, write_private
from harness.control._local import LocalRemote, local_host, run_local
from harness.control._parallel import close_all, connect_all, on_all
from harness.control._remote import (CommandResult, Host, HostUnreachable, Remote,
                                     RemoteCommandError)
from harness.control._ssh import SshRemote

__all__ = ["CommandResult", "Host", "HostUnreachable", "LocalRemote", "Remote",
           "RemoteCommandError", "SshRemote", "close_all", "connect_all", "generate_keypair",
           "local_host", "on_all", "public_key_line", "run_local", "write_private"]
