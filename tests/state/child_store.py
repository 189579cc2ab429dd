"""A child process for the lock and crash tests: `python child_store.py hold|write STATE_PATH`.

hold:  open the store, print `ready`, then wait (for stdin to close, or a kill).
write: open the store and answer items forever, printing each custom_id after
       `handle(RequestSucceeded)` returned (so the parent knows it was committed).
Both give up by themselves after 60 s, so a failed test never leaves them behind.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from factories import open_store, queued, sent, succeeded


def hold(path: Path) -> None:
    store = open_store(path)
    print("ready", flush=True)
    sys.stdin.read()
    store.close()


def write(path: Path) -> None:
    store = open_store(path)
    print("ready", flush=True)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 300}]}
    response = {"choices": [{"message": {"role": "assistant", "content": "y" * 1000}}]}
    for seq in range(1_000_000):
        custom_id = f"item-{seq}"
        store.handle(queued(custom_id, seq, body=body))
        store.handle(sent(custom_id, seq))
        store.handle(succeeded(custom_id, seq, response=response))
        print(custom_id, flush=True)


if __name__ == "__main__":
    signal.alarm(60)
    {"hold": hold, "write": write}[sys.argv[1]](Path(sys.argv[2]))
