"""A small keep-alive HTTP/1.1 JSON client on asyncio streams (layer: harness, the etcd adapter).

Only what etcd's v3 JSON gateway needs: POST a JSON object (or GET), read one reply
(Content-Length or chunked), keep the connection for the next request. The
standard library has no asyncio HTTP client and http.client would need a
thread per request; a new dependency (aiohttp, httpx) is not worth ~100 lines.

Errors are typed so the caller can tell whether the request may have reached
the server: `NotSent` (the connection could not be made; nothing was sent)
versus OSError / EOFError / `BadReply` after the request was written.
"""

from __future__ import annotations

import asyncio
import json

MAX_HEADER = 64 * 1024
MAX_BODY = 16 << 20     # a longer reply is garbage, not a reply


class NotSent(Exception):
    """The request certainly did not leave (connect failed)."""


class BadReply(ValueError):
    """The server answered with something that is not an HTTP reply carrying JSON."""


class HttpConnection:
    """One keep-alive connection to host:port, one request at a time (callers serialise)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict) -> tuple[int, object]:
        """POST body as JSON; return (HTTP status, decoded JSON reply). Raises NotSent before
        anything was written, else OSError, EOFError or BadReply (the connection is dropped)."""
        data = json.dumps(body, separators=(",", ":")).encode()
        return await self._request(f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                                   f"Content-Type: application/json\r\n"
                                   f"Content-Length: {len(data)}\r\n\r\n".encode() + data)

    async def get(self, path: str) -> tuple[int, object]:
        """GET path; (HTTP status, decoded JSON reply), raising as `post` does."""
        return await self._request(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                                   "\r\n".encode())

    async def _request(self, raw: bytes) -> tuple[int, object]:
        await self.connect()
        try:
            self._writer.write(raw)
            await self._writer.drain()
            status, headers, body = await self._read_reply()
        except BaseException:
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        try:
            return status, json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            raise BadReply(f"HTTP {status} body is not JSON: {body[:80]!r} ({exc})") from None

    async def connect(self) -> None:
        """Open the connection unless an open one is kept; NotSent if it cannot be made."""
        if self._writer is not None and not self._writer.is_closing() \
                and not self._reader.at_eof():
            return
        self.close()    # closed by the server (restart): a fresh one, nothing was sent on it
        try:
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port, limit=MAX_HEADER)
        except OSError as exc:
            raise NotSent(f"connect to {self.host}:{self.port}: {exc}") from None

    async def _read_reply(self) -> tuple[int, dict, bytes]:
        line = await self._line()
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise BadReply(f"not an HTTP status line: {line[:80]!r}")
        status, headers = int(parts[1]), {}
        while True:
            line = await self._line()
            if not line.strip():
                break
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise BadReply(f"bad header line: {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
            if len(headers) > 100:
                raise BadReply("more than 100 header lines")
        return status, headers, await self._body(headers)

    async def _body(self, headers: dict) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks, total = [], 0
            while True:
                size_line = (await self._line()).split(b";")[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise BadReply(f"bad chunk size {size_line[:20]!r}") from None
                total += size
                if total > MAX_BODY:
                    raise BadReply(f"reply longer than {MAX_BODY} bytes")
                if size == 0:
                    while (await self._line()).strip():
                        pass    # trailers
                    return b"".join(chunks)
                chunks.append(await self._reader.readexactly(size))
                await self._line()
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            raise BadReply("reply has neither Content-Length nor chunked encoding") from None
        if not 0 <= length <= MAX_BODY:
            raise BadReply(f"Content-Length {length} out of range")
        return await self._reader.readexactly(length)

    async def _line(self) -> bytes:
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            raise EOFError(f"{self.host}:{self.port} closed the connection mid-reply") from None
        except asyncio.LimitOverrunError:
            raise BadReply(f"header line longer than {MAX_HEADER} bytes") from None
        return line

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def aclose(self) -> None:
        writer = self._writer
        self.close()
        if writer is not None:
            try:
                await writer.wait_closed()
            except OSError:
                pass


def _no_constant(name):
    raise ValueError(f"reply holds {name}, which is not JSON")
