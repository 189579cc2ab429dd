"""Group commit: several answers per state-file transaction, none reported before its commit.

A commit costs about as much as recording a dozen answers, so committing each
answer alone was the largest cost of a fast run. Here an answer that waits is
committed at most a short window after the previous commit, together with every
answer that came meanwhile (or at once when enough wait). After a quiet window
(a rate-limited run, an answer every 100 ms) it is committed as soon as the
answers of the moment are staged, without a timer: waking up only to commit
cost more than the commit.

The kill -9 promise holds because nothing learns of an answer before its
commit: the answer events (RequestSucceeded, RequestFailed) are held and
delivered to the consumers (dashboard, headless reporter, Python API) only
after it, and the engine counts a request whose answer is held against its
concurrency until a commit (`notify`) frees the slot. So a run killed at any
moment has at most `concurrency` answers unrecorded, as before: those in flight
or waiting for their commit, all of which the next run sends again. Other
events are delivered at once.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from ..events import Event
from .recording import COMMIT_AT_ONCE
from .store import StateStore

GROUP_WINDOW_S = 0.005
"""The longest an answer waits for its commit (and its request's slot stays taken)."""
GROUP_MAX_ANSWERS = 64
"""Answers that commit at once without waiting for the timer."""


class GroupCommit:
    """Stages events in the store and delivers them; answers only once committed."""

    def __init__(self, store: StateStore, deliver: Callable[[Event], None], *,
                 on_store_error: Callable[[Exception], None], on_delivery_error: Callable[[Exception], None],
                 window_s: float = GROUP_WINDOW_S, max_answers: int = GROUP_MAX_ANSWERS) -> None:
        self.store = store
        self._deliver = deliver
        self._on_store_error = on_store_error
        self._on_delivery_error = on_delivery_error
        self.window_s, self.max_answers = window_s, max_answers
        self._held: list[Event] = []
        self._timer: asyncio.Handle | None = None
        self._listeners: list[Callable[[], None]] = []
        self._last_commit = -math.inf
        """When the last commit was tried, on the loop's clock."""

    def emit(self, event: Event) -> None:
        """Record `event`; deliver it now, or, if it is an answer, once a commit holds it."""
        waiting = self.store.answers_waiting
        try:
            answer = self.store.stage(event)
        except Exception as error:  # noqa: BLE001 - the owner stops the run; an unrecorded answer is never reported
            self._on_store_error(error)
            answer = self.store.answers_waiting > waiting  # staged, but the commit that came with it failed
            if not answer and isinstance(event, COMMIT_AT_ONCE):
                return
        if self._held and not self.store.answers_waiting:
            self._release()  # the store committed on its own (RunFinished, a full buffer)
        if not answer:
            self._deliver(event)
            return
        self._held.append(event)
        if self.store.answers_waiting >= self.max_answers:
            self.commit()
        elif self._timer is None:
            self._start_timer()

    def commit(self) -> None:
        """Commit what waits and deliver the answers it held; a failed commit keeps them held, unreported."""
        self._cancel_timer()
        self._last_commit = _loop_time()
        try:
            self.store.commit_answers()
        except Exception as error:  # noqa: BLE001 - the owner stops the run; the answers stay pending in the store
            self._on_store_error(error)
            self._tell_listeners()  # the engine must not wait for a commit that may never come
            return
        self._release()

    def notify(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every commit tried: every answer handled before it is committed (or failed to be)."""
        self._listeners.append(listener)

    @property
    def held(self) -> int:
        """Answers waiting for their commit."""
        return len(self._held)

    def _release(self) -> None:
        held, self._held = self._held, []
        self._cancel_timer()
        self._tell_listeners()
        for event in held:
            self._deliver(event)

    def _start_timer(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop to wait on: commit now
            self.commit()
            return
        due = self._last_commit + self.window_s
        if due <= loop.time():  # quiet for a window: commit once this moment's answers are staged
            self._timer = loop.call_soon(self._on_timer)
        else:
            self._timer = loop.call_at(due, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self.commit()
        except Exception as error:  # noqa: BLE001 - a consumer failed: say so instead of the loop's log
            self._on_delivery_error(error)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tell_listeners(self) -> None:
        for listener in self._listeners:
            listener()


def _loop_time() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # committed outside the loop (at the end of a run): no window to keep
        return -math.inf
