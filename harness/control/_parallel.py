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
    """Open one SshRemote per host in parallel; on failure close those that opened.

    Every attempt runs to its end (each is bounded by connect_timeout), then the failure of
    the first host in the given order is raised, naming the other unreachable hosts too:
    which host fails first on the wire must not decide which one the user is told about.
    """
    remotes = [SshRemote(h, known_hosts=known_hosts, connect_timeout=connect_timeout)
               for h in hosts]
    try:
        results = await asyncio.gather(*(r.connect() for r in remotes), return_exceptions=True)
    except BaseException:
        await close_all(remotes)
        raise
    failures = [(r, e) for r, e in zip(remotes, results) if isinstance(e, BaseException)]
    if not failures:
        return remotes
    await close_all(remotes)
    first = failures[0][1]
    if isinstance(first, HostUnreachable) and len(failures) > 1:
        others = ", ".join(r.host.name for r, _ in failures[1:])
        raise HostUnreachable(f"{first}; also unreachable: {others}") from None
    raise first


async def close_all(remotes: Iterable) -> None:
    """Close every remote; never raises for an already broken connection."""
    for remote in remotes:
        try:
            await remote.close()
        except (OSError, HostUnreachable):
            pass
