"""One request/reply over the emulator's JSON-lines protocol, from the control node (layer: harness).

See docs/protocol.md. Used for status, clock offsets and readiness checks;
workload clients have their own pooled client.
"""

from __future__ import annotations

import asyncio
import json


async def request(address: str, port: int, req: dict, timeout: float = 2.0) -> dict:
    """Send one request on a fresh connection and return the reply object.

    Raises OSError (refused, reset), TimeoutError or ValueError (not JSON).
    """
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(address, port)
        try:
            writer.write(json.dumps({"id": 1, **req}).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
        finally:
            writer.close()
    if not line:
        raise ConnectionResetError(f"{address}:{port} closed the connection without a reply")
    return json.loads(line)
