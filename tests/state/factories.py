"""Small builders of engine events and stores for the state tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oaib_tui import events as ev
from oaib_tui.state.store import StateStore

PROJECT = "demo"


def open_store(path: Path, **options: Any) -> StateStore:
    options = {"project_name": PROJECT, "project_path": "/p/demo.yaml", "fingerprint": "fp-1", **options}
    return StateStore.open(path, **options)


def queued(custom_id: str, seq: int, *, body_hash: str | None = None, input_key: int | None = None,
           body: dict[str, Any] | None = None, keep: dict[str, Any] | None = None) -> ev.RequestQueued:
    return ev.RequestQueued(
        custom_id=custom_id, seq=seq, source="in.jsonl", line=seq + 1,
        body_hash=body_hash or f"hash-{custom_id}", input_key=seq + 1000 if input_key is None else input_key,
        prompt_tokens=10, max_output_tokens=20,
        body=body or {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": custom_id}]},
        keep=keep if keep is not None else {"row": seq}, at=100.0 + seq,
    )


def sent(custom_id: str, seq: int, attempt: int = 1, at: float = 200.0) -> ev.RequestSent:
    return ev.RequestSent(custom_id=custom_id, seq=seq, attempt=attempt, reserved_tokens=30, at=at)


def retry(custom_id: str, seq: int, attempt: int = 1, reason: str = "429 tokens") -> ev.RetryScheduled:
    return ev.RetryScheduled(custom_id=custom_id, seq=seq, attempt=attempt, reason=reason, status_code=429,
                             delay_s=1.5, message="Rate limit reached", at=250.0)


def chat_answer(text: str) -> dict[str, Any]:
    return {"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


def succeeded(custom_id: str, seq: int, attempt: int = 1, response: dict[str, Any] | None = None,
              cost: float | None = 0.25) -> ev.RequestSucceeded:
    return ev.RequestSucceeded(
        custom_id=custom_id, seq=seq, attempt=attempt, status_code=200, latency_s=0.5,
        usage=ev.Usage(prompt_tokens=10, cached_tokens=2, completion_tokens=5), cost_usd=cost,
        response=response or chat_answer(f"answer {custom_id}"), at=300.0 + seq,
    )


def failed(custom_id: str, seq: int, attempt: int = 1) -> ev.RequestFailed:
    return ev.RequestFailed(
        custom_id=custom_id, seq=seq, attempt=attempt, reason="400", status_code=400,
        message="Invalid model", error={"error": {"message": "Invalid model", "type": "invalid_request_error"}},
        at=400.0,
    )


def answered(store: StateStore, custom_id: str, seq: int, **options: Any) -> None:
    """Queue, send and answer one item."""
    store.handle(queued(custom_id, seq, **options))
    store.handle(sent(custom_id, seq))
    store.handle(succeeded(custom_id, seq))
