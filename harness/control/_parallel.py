"""Run one coroutine per host in parallel (layer: harness/control)."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Iterable, TypeVar

from harness.control._remote import Host, HostUnreachable
from harness.control._ssh import SshRemote

R = TypeVar("R")
T = TypeVar("T")


async def on_all(items: Iterable[T], fn: Callable[[T], Awaitable[R]]) -> list[R]:
    """Await fn(item) for every item concurrently; results in input order.

    If any call fails the others are cancelled and the first failure is
    raised unwrapped (a HarnessError stays a HarnessError, so the CLI prints
    one line); the other failures are attached as notes.
    """
    items = list(items)
    tasks = []
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(fn(item)) for item in items]
    except BaseExceptionGroup as group:
        first, *rest = group.exceptions
        for other in rest:
            first.add_note(f"also: {type(other).__name__}: {other}")
        raise first from None
    return [t.result() for t in tasks]


async def connect_all(hosts: Iterable[Host], *, known_hosts: str | None = None,
                      connect_timeout: float = 10.0) -> list[SshRemote]:
    """Open one SshRemote per host in parallel; on failure close those that opened."""
    remotes = [SshRemote(h, known_hosts=known_hosts, connect_timeout=connect_timeout)
               for h in hosts]
    try:
        await on_all(remotes, lambda r: r.connect())
    except BaseException:
        await close_all(remotes)
        raise
    return remotes


async def close_all(remotes: Iterable) -> None:
    """Close every remote; never raises for an already broken connection."""
    for remote in remotes:
        try:
            await remote.close()
        except (OSError, HostUnreachable):
            pass
