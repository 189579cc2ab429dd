"""Helpers shared by the simulator's tests (imported by name: the folder is on sys.path)."""

from __future__ import annotations

from typing import Any


class FakeClock:
    """Monotonic time that moves only when told (or when FakeSleep sleeps)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """Records every sleep and advances the fake clock instead of waiting."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)


def chat_body(text: str = "Say something.", **extra: Any) -> dict[str, Any]:
    """A chat request body, as keyword arguments for `chat.completions.create`."""
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}
