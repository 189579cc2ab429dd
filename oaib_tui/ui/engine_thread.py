"""An event loop in a thread of its own, where the job runs beside the dashboard.

At hundreds of requests a second the engine keeps its loop busy: in the same
loop as the app, a key press would wait behind it for a few hundred
milliseconds. In a loop of its own it only shares the GIL, which Python hands
over every few milliseconds, so keys and drawing stay quick.

Everything that touches the job (its SQLite state file included, whose
connection belongs to the thread that opened it) runs in this thread: `call`
and `run` hand work over and give back its result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
STOP_TIMEOUT_S = 10.0


class EngineThread:
    def __init__(self, name: str = "oaib-engine") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def submit(self, work: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run `work()` in the thread; its result (or exception) arrives in the future."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(work())
            except BaseException as error:  # noqa: BLE001 - handed to the caller, who re-raises it
                future.set_exception(error)

        self.loop.call_soon_threadsafe(run)
        return future

    def call(self, work: Callable[[], T]) -> T:
        """Run `work()` in the thread and wait for its result (raising what it raised)."""
        return self.submit(work).result()

    async def call_async(self, work: Callable[[], T]) -> T:
        """Like `call`, awaited from another event loop."""
        return await asyncio.wrap_future(self.submit(work))

    def run(self, coroutine: Awaitable[T]) -> concurrent.futures.Future[T]:
        """Run a coroutine on the thread's loop."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]

    def stop(self) -> None:
        """End the loop (after what it is running now) and wait for the thread; safe to call twice."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(STOP_TIMEOUT_S)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
