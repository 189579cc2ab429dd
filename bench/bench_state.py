"""Benchmark of the state file: event throughput, and resume start-up on a big file.

    python bench/bench_state.py                  # 20,000 live items, then a 1,000,000-item file
    python bench/bench_state.py --items 100000   # a smaller resume file

Prints:
- events/s the store sustains for a realistic mix (queued with a ~500 B body,
  sent, succeeded with a ~1 KB response; 1 in 10 items retried once), each
  answer committed before `handle` returns;
- for a file of N done items: the time to open it (lock, checks), to load
  `finished_input_keys()` (what a resume needs before its first request),
  `counts()`, `totals()`, and the file size;
  with --outputs, the time to write the results file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oaib_tui.engine import events as ev
from oaib_tui.state.outputs import write_outputs
from oaib_tui.state.recording import signed64, to_json
from oaib_tui.state.store import StateStore

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Summarise: " + "lorem ipsum " * 40}]}
RESPONSE = {"id": "chatcmpl-x", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "word " * 190}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 190, "total_tokens": 310}}
USAGE = ev.Usage(120, 0, 190)


def open_store(path: Path) -> StateStore:
    return StateStore.open(path, project_name="bench", project_path="/bench.yaml", fingerprint="fp")


def start_events(seq: int) -> list[ev.Event]:
    custom_id = f"item-{seq:07d}"
    events: list[ev.Event] = [
        ev.RequestQueued(custom_id, seq, "in.jsonl", seq + 1, f"{seq:064x}", seq * 2654435761 % 2**64,
                         120, 256, BODY, {"row": seq}, at=1.0),
        ev.RequestSent(custom_id, seq, 1, 376, at=2.0),
    ]
    if seq % 10 == 0:
        events += [ev.RetryScheduled(custom_id, seq, 1, "429 tokens", 429, 1.0, "Rate limit", at=2.5),
                   ev.RequestSent(custom_id, seq, 2, 376, at=3.5)]
    return events


def answer(seq: int) -> ev.RequestSucceeded:
    return ev.RequestSucceeded(f"item-{seq:07d}", seq, 1, 200, 0.8, USAGE, 0.0001, RESPONSE, at=4.0)


def event_stream(items: int, in_flight: int = 50) -> list[ev.Event]:
    """Requests start `in_flight` items ahead of the answers, as they do in a real run."""
    stream: list[ev.Event] = []
    for seq in range(items + in_flight):
        if seq < items:
            stream += start_events(seq)
        if seq >= in_flight:
            stream.append(answer(seq - in_flight))
    return stream


def bench_events(folder: Path, items: int) -> None:
    stream = event_stream(items)
    store = open_store(folder / "events.db")
    start = time.perf_counter()
    for event in stream:
        store.handle(event)
    store.close()
    seconds = time.perf_counter() - start
    print(f"events: {len(stream):,} events for {items:,} items in {seconds:.2f} s"
          f" = {len(stream) / seconds:,.0f} events/s, {items / seconds:,.0f} answered items/s"
          f" ({seconds / items * 1e6:.0f} µs per item, one commit per answer)")


def build_done_file(path: Path, items: int) -> None:
    """N done items written in bulk with the store's own schema (the event path would take minutes)."""
    store = open_store(path)
    request, keep, response = to_json(BODY), to_json({"row": 0}), to_json(RESPONSE)
    conn, chunk = store.conn, 50_000
    for first in range(0, items, chunk):
        seqs = range(first, min(first + chunk, items))
        conn.execute("BEGIN")
        conn.executemany(
            """INSERT INTO items (id, custom_id, seq, source, line, body_hash, input_key, status, attempts,
                   first_sent_at, finished_at, latency_s, prompt_tokens, cached_tokens, completion_tokens, cost_usd)
               VALUES (?, ?, ?, 'in.jsonl', ?, ?, ?, 'done', 1, 2.0, 4.0, 0.8, 120, 0, 190, 0.0001)""",
            [(s + 1, f"item-{s:07d}", s, s + 1, f"{s:064x}", signed64(s * 2654435761 % 2**64)) for s in seqs])
        conn.executemany("INSERT INTO payloads (item, request, keep, response) VALUES (?, ?, ?, ?)",
                         [(s + 1, request, keep, response) for s in seqs])
        conn.execute("COMMIT")
    store.close()


def timed(label: str, work):
    start = time.perf_counter()
    result = work()
    print(f"  {label:<28} {time.perf_counter() - start:7.3f} s")
    return result


def bench_resume(folder: Path, items: int, outputs: bool) -> None:
    path = folder / "resume.db"
    start = time.perf_counter()
    build_done_file(path, items)
    print(f"resume: built a file of {items:,} done items in {time.perf_counter() - start:.1f} s,"
          f" {path.stat().st_size / 1e6:,.0f} MB")
    store = timed("open (lock, checks)", lambda: open_store(path))
    keys = timed("finished_input_keys()", store.finished_input_keys)
    assert len(keys) == items, len(keys)
    timed("counts()", store.counts)
    timed("totals()", store.totals)
    timed("first result row", lambda: next(store.iter_results("done")))
    if outputs:
        timed("write_outputs()", lambda: write_outputs(store, folder / "r.jsonl", folder / "e.jsonl"))
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events-items", type=int, default=20_000, help="items for the event throughput run")
    parser.add_argument("--items", type=int, default=1_000_000, help="done items in the resume file")
    parser.add_argument("--outputs", action="store_true", help="also time writing the results file")
    parser.add_argument("--dir", type=Path, help="where to put the files (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        bench_events(Path(folder), args.events_items)
        bench_resume(Path(folder), args.items, args.outputs)


if __name__ == "__main__":
    main()
