"""A wake-up for one sleeping task: early when poked, or when its time is up."""

from __future__ import annotations

import asyncio


class Alarm:
    """`await sleep(timeout)` returns on `poke()` or after `timeout` seconds (None: only a poke).

    `asyncio.wait_for(event.wait(), timeout)` makes a task per sleep; a rate-limited
    run sleeps a few times per request, so this waits on a bare future and one timer.
    A poke while nobody sleeps is dropped: the sleeper looks at the world before it sleeps.
    """

    __slots__ = ("_waiter",)

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None

    def poke(self) -> None:
        _ring(self._waiter)

    async def sleep(self, timeout: float | None) -> None:  # noqa: ASYNC109 - a wake-up, not a deadline
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, _ring, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()


def _ring(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
