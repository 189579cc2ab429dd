"""The ledger invariant under random records, headers and server answers (hypothesis).

Each example runs a whole job (engine, state store, outputs) on virtual time
against a scripted sender: every attempt gets an answer drawn by hypothesis
(answers with odd usage, errors, garbage bodies, odd headers, absurd
retry-after values, timeouts, dropped connections, a refused key) and read by
the lean sender's own parser. It found two stalls: a usage of 9 billion prompt
tokens charged to the token bucket, and a retry due a few picoseconds after
"now" that woke the dispatcher to the same instant forever. Then, whatever happened:

- exit 0 if and only if every record is in the results;
- otherwise every record is in exactly one of results, errors or "to do" (the
  state file says queued or sent, or the run never reached it), and the run's
  counts say which.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from pathlib import Path
from typing import Any

import looptime
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oaib_tui.engine.client import Reply
from oaib_tui.engine.lean import _reply
from oaib_tui.errors import EXIT_OK
from oaib_tui.job import JobRun
from oaib_tui.project import load_project

ODD_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
HEADER_VALUES = st.one_of(ODD_TEXT, st.sampled_from(["1e309", "inf", "nan", "-5", "0", "3", "1s", "2m1s", "7ms"]),
                          st.integers(-10, 10**30).map(str))
HEADERS = st.dictionaries(st.sampled_from([
    "retry-after", "retry-after-ms", "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests", "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens", "x-should-retry"]), HEADER_VALUES, max_size=4)
USAGE = st.one_of(
    st.just({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}),
    st.dictionaries(st.sampled_from(["prompt_tokens", "completion_tokens", "input_tokens", "output_tokens",
                                     "prompt_tokens_details", "input_tokens_details"]),
                    st.one_of(st.integers(-5, 10**20), ODD_TEXT, st.none(), st.booleans(), st.just({"cached_tokens": "x"})),
                    max_size=4),
    st.none(), ODD_TEXT, st.lists(st.integers(), max_size=2),
)
ERROR_BODY = st.one_of(
    st.just(b'{"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}'),
    st.just(b'{"error": {"message": "bad", "type": "invalid_request_error"}}'),
    st.just(b'{"error": {"message": "no credit", "type": "insufficient_quota", "code": "insufficient_quota"}}'),
    st.binary(max_size=20), st.just(b"[1, 2]"), st.just(b"null"),
)


@st.composite
def answers(draw: st.DrawFn) -> Reply:
    kind = draw(st.sampled_from(["ok", "ok", "ok", "error", "garbage", "timeout", "dropped"]))
    headers = draw(HEADERS)
    if kind == "ok":
        body = {"id": "x", "object": "chat.completion", "model": draw(st.sampled_from(["gpt-4o-mini", "mystery"])),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": draw(ODD_TEXT)}}]}
        usage = draw(USAGE)
        if usage is not None:
            body["usage"] = usage
        return _reply(200, headers, json.dumps(body).encode())
    if kind == "error":
        status = draw(st.sampled_from([400, 401, 404, 408, 409, 429, 429, 500, 502, 503]))
        return _reply(status, headers, draw(ERROR_BODY))
    if kind == "garbage":
        return _reply(200, headers, draw(st.one_of(st.binary(max_size=20), st.just(b"[]"), st.just(b"{\"choices\":"))))
    if kind == "timeout":
        return Reply(None, {}, None, failure="timeout", message="no answer within 5s")
    return Reply(None, {}, None, failure="connection", message="connection dropped")


class ScriptedSender:
    """Answers each attempt with the next drawn reply; after the script, a plain answer (so runs end)."""

    name = "scripted"

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.sent: list[str] = []

    async def send(self, url: str, body: dict[str, Any], timeout_s: float) -> Reply:
        self.sent.append(body["messages"][0]["content"])
        await asyncio.sleep(0.01)
        if self.replies:
            return self.replies.pop(0)
        return _reply(200, {}, b'{"choices": [{"message": {"content": "late"}}], "usage": {"prompt_tokens": 1}}')

    async def close(self) -> None:
        pass


def write_job(folder: Path, records: list[dict[str, Any]]) -> Path:
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    spec = {
        "name": "prop", "model": "gpt-4o-mini", "provider": {"kind": "simulator"},
        "limits": {"rpm": 100_000, "tpm": 10_000_000, "concurrency": 3, "max_retries": 2, "timeout_s": 5},
        "sources": [{"path": "records.jsonl", "id": "{id}"}],
        "request": {"max_tokens": 8, "messages": [{"role": "user", "content": "{id}"}], "metadata": {"note": "{note}"}},
    }
    path = folder / "project.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


class RunDidNotEnd(Exception):
    pass


def _did_not_end(*_: object) -> None:
    raise RunDidNotEnd("the run spun for 20 real seconds without ending")


def run_on_virtual_time(job: JobRun):
    """The run on a virtual clock, bounded: a day of virtual time, and 20 real seconds against a spin."""
    loop = looptime.new_event_loop(start=0.0, _enabled=True)
    previous = signal.signal(signal.SIGALRM, _did_not_end)
    signal.alarm(20)
    try:
        return loop.run_until_complete(asyncio.wait_for(job.run(), timeout=86_400))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        loop.close()


def ids_in(path: Path) -> list[str]:
    text = path.read_text() if path.exists() else ""
    return [json.loads(line)["custom_id"] for line in text.split("\n") if line]  # JSON lines end at \n only


RECORDS = st.lists(ODD_TEXT, min_size=1, max_size=8).map(
    lambda notes: [{"id": f"r{i}", "note": note} for i, note in enumerate(notes)])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=RECORDS, replies=st.lists(answers(), max_size=20))
def test_every_record_ends_answered_failed_or_to_do_and_exit_0_only_if_all_answered(tmp_path_factory, records,
                                                                                     replies):
    folder = tmp_path_factory.mktemp("prop")
    job = JobRun(load_project(write_job(folder, records)), sender=ScriptedSender(replies))
    try:
        finished = run_on_virtual_time(job)
        job.write_outputs()
    finally:
        job.close()
    everyone = {record["id"] for record in records}
    results, errors = ids_in(job.project.results_path), ids_in(job.project.errors_path)
    with sqlite3.connect(job.project.state_path) as conn:
        to_do = {cid for (cid,) in conn.execute("SELECT custom_id FROM items WHERE status IN ('queued', 'sent')")}
    never_reached = everyone - set(results) - set(errors) - to_do
    assert (finished.exit_code == EXIT_OK) == (set(results) == everyone)
    assert len(results) + len(errors) + len(to_do) + len(never_reached) == len(everyone)
    assert set(results) | set(errors) | to_do <= everyone
    if finished.state == "finished":
        assert not to_do and not never_reached
        assert (finished.done, finished.failed) == (len(results), len(errors))
    else:
        assert finished.exit_code != EXIT_OK
