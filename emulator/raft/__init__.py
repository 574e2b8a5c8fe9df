"""The pure Raft consensus core of the HeliosDB emulator.

Layer: the bottom (pure). `RaftCore` is a state machine stepped by the asyncio shell
in `emulator/`; see `_core` for the contract and `_types.Ready` for the handling order.
"""

from ._config import KNOWN_BUGS, Config
from ._core import RaftCore
from ._types import (Entry, Event, HardState, Message, MsgType, NotLeader, Ready, ReadState,
                     Role, Snapshot)

__all__ = ["RaftCore", "Config", "KNOWN_BUGS", "Entry", "Event", "HardState", "Message",
           "MsgType", "NotLeader", "Ready", "ReadState", "Role", "Snapshot"]
