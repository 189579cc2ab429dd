"""The ledger invariant: every item ends done, failed with a reason, or still to do, as the state file says.

Runs go to a hostile loopback server (see hostile_server.py) or have a fault
injected into the engine or the store; each test checks what the state file,
the outputs and the run's own report say. Each case failed on the main of
2026-12-01 (an exit 0 with an item lost, an answer thrown away, a second run
sending everything again, a truncated export).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from hostile_server import KEY, KEY_ENV, Answer, chat_answer, hostile_project, hostile_server, prompt_id

from oaib_tui import events as ev
from oaib_tui.cli import main
from oaib_tui.engine import realtime
from oaib_tui.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_SOME_FAILED, EXIT_STOPPED, UserError
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.state.files import StateFileLost
from oaib_tui.state.store import StateStore

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)


def records(n: int) -> list[dict]:
    return [{"id": f"r{i:03d}"} for i in range(n)]


def statuses(state_path: Path) -> dict[str, str]:
    with sqlite3.connect(state_path) as conn:
        return dict(conn.execute("SELECT custom_id, status FROM items"))


async def run_job(project_path: Path) -> tuple[JobRun, ev.RunFinished]:
    job = JobRun(load_project(project_path))
    try:
        finished = await job.run()
        job.write_outputs()
    finally:
        job.close()
    return job, finished


def oaib(capsys, *args: str) -> tuple[int, str]:
    """The CLI as a user runs it (the console entry point): exit code and everything printed."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


ODD_USAGE = [
    {"prompt_tokens": 5, "completion_tokens": 2, "prompt_tokens_details": "oops"},
    {"input_tokens": 5, "output_tokens": 2, "input_tokens_details": "oops"},
    {"prompt_tokens": "5", "completion_tokens": 2},
    {"prompt_tokens": -3, "completion_tokens": 2},
    ["not", "an", "object"],
    {"prompt_tokens": 10**40, "completion_tokens": 2},
    {"prompt_tokens": True, "completion_tokens": None},
]


@pytest.mark.parametrize("usage", ODD_USAGE, ids=range(len(ODD_USAGE)))
async def test_an_answer_with_odd_usage_is_kept_with_its_cost_unknown(tmp_path, usage):
    def script(body, number):
        return Answer(body=chat_answer(f"answer {prompt_id(body)}", usage=usage if number == 2 else None))

    async with hostile_server(script) as server:
        project = hostile_project(tmp_path, server.base_url, records(4))
        job, finished = await run_job(project)
    assert finished.exit_code == EXIT_OK and len(server.requests) == 4  # paid for once, not sent again
    results = lines(job.project.results_path)
    assert sorted(r["custom_id"] for r in results) == [f"r{i:03d}" for i in range(4)]
    odd = [r for r in results if r["cost_usd"] is None]
    assert len(odd) == 1 and odd[0]["response"]["choices"][0]["message"]["content"].startswith("answer r")


async def test_an_exception_inside_a_request_task_fails_that_item_with_the_error_named(tmp_path, monkeypatch):
    real_classify = realtime.classify

    def broken_classify(**kwargs):
        if kwargs["status"] == 418:
            raise RuntimeError("a bug in the engine")
        return real_classify(**kwargs)

    monkeypatch.setattr(realtime, "classify", broken_classify)
    async with hostile_server(lambda body, n: Answer(418, {"error": {"message": "teapot"}})
                              if prompt_id(body) == "r002" else Answer()) as server:
        job, finished = await run_job(hostile_project(tmp_path, server.base_url, records(5)))
    assert finished.exit_code == EXIT_SOME_FAILED and finished.failed == 1
    assert "all requests answered" not in finished.message
    errors = lines(job.project.errors_path)
    assert [e["custom_id"] for e in errors] == ["r002"]
    assert "RuntimeError: a bug in the engine" in errors[0]["error"]["message"]
    assert statuses(job.project.state_path) == {**{f"r{i:03d}": "done" for i in range(5)}, "r002": "failed"}


async def test_an_event_the_store_cannot_record_stops_the_run_and_leaves_the_item_to_do(tmp_path, monkeypatch):
    real_stage = StateStore.stage

    def stage(self, event):
        if isinstance(event, ev.RequestSucceeded) and event.custom_id == "r003":
            raise ValueError("cannot encode this answer")
        return real_stage(self, event)

    monkeypatch.setattr(StateStore, "stage", stage)  # handle() records through it too
    async with hostile_server() as server:
        job, finished = await run_job(hostile_project(tmp_path, server.base_url, records(12),
                                                      limits={"concurrency": 1}))
    assert finished.state == "stopped" and finished.exit_code == EXIT_STOPPED
    assert "could not be recorded" in finished.message
    recorded = statuses(job.project.state_path)
    assert recorded["r003"] in ("queued", "sent")  # to do: the next run asks again
    assert len(server.requests) < 12  # it stopped sending


async def test_removing_the_state_folder_mid_run_stops_it_and_no_second_run_can_start(tmp_path):
    second: list[BaseException] = []
    folder = tmp_path / "job"
    folder.mkdir()

    def on_request(number: int) -> None:
        if number == 5:
            shutil.rmtree(folder / "state")
            try:
                JobRun(load_project(folder / "project.yaml"))
            except UserError as refused:
                second.append(refused)

    async with hostile_server(lambda body, n: Answer(delay_s=0.01)) as server:
        server.on_request = on_request
        project = hostile_project(folder, server.base_url, records(40), state="state/hostile.db",
                                  limits={"concurrency": 2})
        with pytest.raises(StateFileLost) as lost:
            await run_job(project)
    assert lost.value.exit_code == EXIT_STOPPED and "was deleted" in lost.value.title
    assert len(second) == 1 and "still alive" in str(second[0])
    assert len(server.requests) < 40  # stopped sending once nothing more could be recorded


async def test_a_deleted_state_file_stops_the_run_with_exit_3(tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()

    def on_request(number: int) -> None:
        if number == 4:
            load = load_project(folder / "project.yaml")
            os.unlink(load.state_path)

    async with hostile_server() as server:
        server.on_request = on_request
        project = hostile_project(folder, server.base_url, records(30), limits={"concurrency": 1})
        with pytest.raises(StateFileLost):
            await run_job(project)
    assert len(server.requests) < 30


async def test_a_run_claims_nothing_the_state_file_does_not_record(tmp_path):
    async with hostile_server() as server:
        job = JobRun(load_project(hostile_project(tmp_path, server.base_url, records(3))))
        try:
            await job.run()
            job.store.conn.execute("UPDATE items SET status = 'queued' WHERE custom_id = 'r001'")
            claimed = ev.RunFinished(state="finished", reason=None, message="all requests answered", done=3,
                                     failed=0, pending=0, cost_usd=0.0, exit_code=EXIT_OK, at=0.0)
            checked = job.checked(claimed)
        finally:
            job.close()
    assert checked.exit_code == EXIT_SOME_FAILED
    assert checked.message == ("not every request is accounted for: the state file records "
                               "2 done, 0 failed, 1 still to do")


def hide_rows_from_the_index(state_path: Path, keep: int) -> None:
    """Damage a state file as a torn write can: the status index lists only the first `keep` items."""
    conn = sqlite3.connect(state_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    ids = [row[0] for row in conn.execute("SELECT id FROM items ORDER BY id")]
    rows = conn.execute("SELECT * FROM items WHERE id > ?", (ids[keep - 1],)).fetchall()
    payloads = conn.execute("SELECT * FROM payloads WHERE item > ?", (ids[keep - 1],)).fetchall()
    conn.execute("DELETE FROM payloads WHERE item > ?", (ids[keep - 1],))
    conn.execute("DELETE FROM items WHERE id > ?", (ids[keep - 1],))
    name, sql, root = conn.execute(
        "SELECT name, sql, rootpage FROM sqlite_master WHERE name = 'items_by_status'").fetchone()
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("DELETE FROM sqlite_master WHERE name = 'items_by_status'")
    conn.execute("PRAGMA writable_schema = OFF")
    conn.close()
    conn = sqlite3.connect(state_path, isolation_level=None)  # the index is unknown now: not maintained
    marks = ", ".join("?" * len(rows[0]))
    conn.executemany(f"INSERT INTO items VALUES ({marks})", rows)
    conn.executemany(f"INSERT INTO payloads VALUES ({', '.join('?' * len(payloads[0]))})", payloads)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('index', ?, 'items', ?, ?)",
                 (name, root, sql))
    conn.execute("PRAGMA writable_schema = OFF")
    conn.close()
    with sqlite3.connect(state_path) as check:  # the damage is the kind that reads short, silently
        assert check.execute("SELECT count(*) FROM items WHERE status = 'done'").fetchone()[0] == keep


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_export_from_a_damaged_state_file_refuses_and_leaves_the_outputs(tmp_path, capsys, fmt):
    async with hostile_server() as server:
        project = hostile_project(tmp_path, server.base_url, records(60), limits={"concurrency": 8})
        job, finished = await run_job(project)
    assert finished.exit_code == EXIT_OK
    results = job.project.results_path
    csv_path = results.with_suffix(".csv")
    assert oaib(capsys, "export", str(project), "--format", "csv")[0] == 0
    before = {path: path.read_bytes() for path in (results, job.project.errors_path, csv_path)}
    hide_rows_from_the_index(job.project.state_path, keep=23)
    code, printed = oaib(capsys, "export", str(project), "--format", fmt)
    assert code == EXIT_BAD_INPUT, printed
    assert "is damaged" in printed and "missing from index" in printed
    assert {path: path.read_bytes() for path in before} == before
    assert len(before[results].splitlines()) == 60


async def test_a_stored_payload_that_is_not_json_is_refused_on_export(tmp_path, capsys):
    async with hostile_server() as server:
        project = hostile_project(tmp_path, server.base_url, records(3))
        job, _ = await run_job(project)
    with sqlite3.connect(job.project.state_path) as conn:
        conn.execute("UPDATE payloads SET response = '{\"choices\": [' WHERE rowid = 2")
    code, printed = oaib(capsys, "export", str(project))
    assert code == EXIT_BAD_INPUT and "not valid JSON" in printed
    assert "Traceback" not in printed


async def test_outputs_are_private_to_their_owner(tmp_path):
    async with hostile_server() as server:
        job, _ = await run_job(hostile_project(tmp_path, server.base_url, records(2)))
    for path in (job.project.results_path, job.project.errors_path, job.project.state_path):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


async def test_a_record_with_a_number_json_cannot_carry_stops_the_run_as_bad_input(tmp_path):
    rows = [{"id": f"r{i:03d}", "t": 0.5} for i in range(5)]
    async with hostile_server() as server:
        project = hostile_project(tmp_path, server.base_url, rows, limits={"concurrency": 1},
                                  request={"temperature": "{t}", "messages": [{"role": "user", "content": "{id}"}]})
        (tmp_path / "records.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows[:3]) + '{"id": "r003", "t": 1e999}\n')
        with pytest.raises(UserError) as bad:
            await run_job(project)
    assert bad.value.exit_code == EXIT_BAD_INPUT
    assert "records.jsonl:4: `request.temperature` (inf) is not a finite number" in str(bad.value)
    assert all("Infinity" not in json.dumps(body) and "NaN" not in json.dumps(body) for body in server.requests)


def test_an_api_key_with_a_line_break_inside_is_refused(monkeypatch, tmp_path):
    from oaib_tui.engine.client import api_key_for

    project = load_project(hostile_project(tmp_path, "http://127.0.0.1:9/v1", records(1)))
    monkeypatch.setenv(KEY_ENV, "sk-abc\r\nInjected: yes")
    with pytest.raises(UserError, match="cannot carry"):
        api_key_for(project)
    monkeypatch.setenv(KEY_ENV, KEY + "\n")  # pasted with its line end: harmless
    assert api_key_for(project) == KEY
