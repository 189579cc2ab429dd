"""Group commit: answers are committed a few at a time, and nothing but the store hears of one before its commit."""

from __future__ import annotations

import sqlite3

import pytest
from engine_helpers import run_job, sim_app, write_project

from oaib_tui import events as ev
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.sim.client import simulator_http_client
from oaib_tui.state.store import StateStore

pytestmark = pytest.mark.looptime


class CommitWitness:
    """A consumer that looks in the state file, through a connection of its own, for each answer it is told of."""

    def __init__(self, path) -> None:
        self.path = path
        self.seen: list[tuple[str, str, str | None]] = []

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, (ev.RequestSucceeded, ev.RequestFailed)):
            expected = "done" if isinstance(event, ev.RequestSucceeded) else "failed"
            self.seen.append((event.custom_id, expected, self._status_in_file(event.custom_id)))

    def _status_in_file(self, custom_id: str) -> str | None:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT status FROM items WHERE custom_id = ?", (custom_id,)).fetchone()
        finally:
            conn.close()
        return row[0] if row else None


def counting_commits(monkeypatch) -> list[int]:
    commits = [0]
    transaction = StateStore._transaction

    def counted(self, work):
        commits[0] += 1
        return transaction(self, work)

    monkeypatch.setattr(StateStore, "_transaction", counted)
    return commits


async def test_no_consumer_hears_of_an_answer_before_the_state_file_holds_it(tmp_path, monkeypatch):
    commits = counting_commits(monkeypatch)
    path = write_project(tmp_path, n=120, limits={"concurrency": 16, "max_retries": 0})
    app = sim_app(latency_ms=50)
    app.inject("503")  # one answer is a failure
    witness = CommitWitness(tmp_path / "out" / "t.state.db")
    finished, _, job = await run_job(path, app, on_event=witness)
    assert witness.path == job.store.path
    assert (finished.done, finished.failed) == (119, 1)
    assert len(witness.seen) == 120
    assert [(custom_id, expected) for custom_id, expected, _ in witness.seen] == \
           [(custom_id, in_file) for custom_id, _, in_file in witness.seen]
    assert commits[0] < 120 / 4  # several answers per commit


async def test_a_request_keeps_its_slot_until_its_answer_is_committed(tmp_path):
    """So a kill -9 leaves at most `concurrency` answers unrecorded, in flight or waiting for their commit."""
    path = write_project(tmp_path, n=60, limits={"concurrency": 4})
    sent, committed, most = [0], [0], [0]

    def watch(event: ev.Event) -> None:
        if isinstance(event, ev.RequestSent):
            sent[0] += 1
            most[0] = max(most[0], sent[0] - committed[0])
        elif isinstance(event, (ev.RequestSucceeded, ev.RequestFailed)):
            committed[0] += 1  # consumers hear of answers only once committed

    finished, _, _ = await run_job(path, sim_app(latency_ms=20), on_event=watch)
    assert finished.done == 60
    assert most[0] == 4


async def test_an_answer_after_a_quiet_moment_is_committed_at_once(tmp_path):
    """A rate-limited run: answers a second apart each commit as soon as they are staged, with no timer to wait
    for (it was 5 ms later before); answers that come together still share a commit (the test above)."""
    path = write_project(tmp_path, n=8, limits={"concurrency": 4})
    app = sim_app(rpm=60, tpm=10_000_000, bucket_s=1, latency_ms=100)  # one at once, then one a second
    delays: list[float] = []

    def watch(event: ev.Event) -> None:
        if isinstance(event, ev.RequestSucceeded):
            delays.append(job.engine.wall() - event.at)  # told of it how long after it came

    job = JobRun(load_project(path), http_client=simulator_http_client(app), consumers=[watch])
    try:
        finished = await job.run()
    finally:
        job.close()
    assert finished.done == 8
    assert len(delays) == 8 and max(delays) < 0.001
