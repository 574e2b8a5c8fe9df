"""A tiny single-node KV server speaking the protocol over real TCP, for workload tests.

It is linearizable by construction (one event loop, ops applied in arrival
order) unless told to misbehave: `drop_every` n-th write is applied but never
answered (the client sees a timeout: info), `lose` makes it forget acknowledged
appends in local final reads (a planted RPO bug), `script` replaces the logic.
"""

import asyncio
import json


class FakeNode:
    def __init__(self, name="n1", drop_every=0, lose=False, script=None):
        self.name, self.drop_every, self.lose, self.script = name, drop_every, lose, script
        self.data, self.lsn, self.writes, self.requests = {}, 0, 0, []
        self.server = None

    async def start(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[:2]

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader, writer):
        try:
            while line := await reader.readline():
                req = json.loads(line)
                self.requests.append(req)
                reply = self.script(self, req) if self.script else self.handle(req)
                if reply is None:
                    continue
                if reply == "close":
                    break
                writer.write(json.dumps({"id": req.get("id"), "node": self.name, **reply})
                             .encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()

    def handle(self, req):
        op, key = req["op"], req.get("key")
        if op == "get":
            value = self.data.get(key)
            if req.get("local") and self.lose and isinstance(value, list):
                value = value[:-1]
            return {"ok": True, "value": value, "lsn": self.lsn, "term": 1}
        cur = self.data.get(key)
        if op == "cas" and cur != req["from"]:
            return {"ok": False, "error": "precondition_failed", "definite": True, "value": cur}
        self.lsn += 1
        self.data[key] = {"put": lambda: req.get("value"), "cas": lambda: req.get("to"),
                          "append": lambda: (cur or []) + [req["value"]]}[op]()
        self.writes += 1
        if self.drop_every and self.writes % self.drop_every == 0:
            return None
        out = {"ok": True, "lsn": self.lsn, "term": 1}
        if op == "append":
            out["value"] = self.data[key]
        return out
