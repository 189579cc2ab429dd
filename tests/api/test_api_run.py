"""Running a job built in Python against the in-process simulator, on virtual time."""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path

import pytest
from api_helpers import chat_job, ids, sim
from job_helpers import plain_chat, write_project

from oaib_tui import Job
from oaib_tui.sim.client import simulator_openai_client

pytestmark = pytest.mark.looptime


async def test_run_returns_every_result_in_input_order_with_its_metadata(tmp_path):
    # Slow answers make completion order differ from input order.
    app = sim(latency_ms=100, slow_rate=0.4, slow_ms=3_000)
    job = chat_job(tmp_path, app, n=12)
    results = await job.run()
    assert results.state == "finished" and results.pending == 0
    assert ids(results) == [f"row-{i}" for i in range(12)]
    assert [r.metadata for r in results] == [{"i": i, "word": f"w{i}"} for i in range(12)]
    assert all(r.ok and r.text and r.error is None for r in results)
    assert all(r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0 for r in results)
    assert results.cost == pytest.approx(sum(r.cost for r in results)) and results.cost > 0
    assert results.errors == []
    assert app.stats.received == 12


async def test_stream_yields_results_as_they_complete(tmp_path):
    app = sim(latency_ms=100, slow_rate=0.4, slow_ms=3_000)
    job = chat_job(tmp_path, app, n=12)
    streamed = [result async for result in job.stream()]
    assert sorted(ids(streamed)) == sorted(f"row-{i}" for i in range(12))
    assert ids(streamed) != [f"row-{i}" for i in range(12)], "slow answers should come last"
    assert all(r.metadata == {"i": int(r.custom_id[4:]), "word": f"w{r.custom_id[4:]}"} for r in streamed)
    assert ids(job.results()) == [f"row-{i}" for i in range(12)]


async def test_failed_requests_come_back_as_errors_with_their_metadata(tmp_path):
    app = sim()
    job = chat_job(tmp_path, app, n=3)
    job.add(messages=[], custom_id="empty", metadata="no messages")
    results = await job.run()
    assert ids(results) == ["row-0", "row-1", "row-2", "empty"]
    [error] = results.errors
    assert (error.custom_id, error.metadata, error.response, error.ok) == ("empty", "no messages", None, False)
    assert error.error["status_code"] == 400 and "messages" in error.error["message"]
    assert error.cost is None


async def test_running_the_same_job_again_skips_what_is_done(tmp_path):
    first = await chat_job(tmp_path, sim(quota_after=4), n=10).run()
    assert first.state == "stopped" and ids(first) == [f"row-{i}" for i in range(4)]

    app = sim()
    again = await chat_job(tmp_path, app, n=10).run()
    assert again.state == "finished"
    assert app.stats.received == 6
    assert ids(again) == [f"row-{i}" for i in range(10)]
    assert [r.metadata["i"] for r in again] == list(range(10))


async def test_a_resumed_stream_yields_earlier_results_once_after_the_new_ones(tmp_path):
    await chat_job(tmp_path, sim(quota_after=4), n=10).run()
    streamed = [result async for result in chat_job(tmp_path, sim(), n=10).stream()]
    assert ids(streamed) == [f"row-{i}" for i in range(4, 10)] + [f"row-{i}" for i in range(4)]
    assert all(r.metadata["i"] == int(r.custom_id[4:]) for r in streamed)


async def test_leaving_a_stream_early_stops_the_job_and_a_later_run_finishes_it(tmp_path):
    app = sim()
    job = chat_job(tmp_path, app, n=40)
    seen = []
    async with contextlib.aclosing(job.stream()) as stream:
        async for result in stream:
            seen.append(result.custom_id)
            if len(seen) == 5:
                break
    partial = job.results()
    assert 5 <= len(partial) < 40
    assert app.stats.received == len(partial), "requests in flight at the stop were let finish"
    rest = await job.run()
    assert ids(rest) == [f"row-{i}" for i in range(40)]
    assert app.stats.received == 40


async def test_stop_from_another_task_leaves_a_resumable_job(tmp_path):
    app = sim(latency_ms=1_000)
    job = chat_job(tmp_path, app, n=50)
    async for result in job.stream():
        if result.custom_id == "row-0":
            job.stop()
    stopped = job.results()
    assert 0 < len(stopped) < 50
    results = await job.run()
    assert results.state == "finished" and len(results) == 50
    assert app.stats.received == 50


async def test_the_injected_client_sends_everything_and_stays_open(tmp_path):
    app = sim()
    client = simulator_openai_client(app)
    job = Job("gpt-4o-mini", client=client, state=tmp_path / "s.state.db", quiet=True)
    job.add("chat.completions.create", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
    await job.run()
    assert app.stats.received == 1
    answer = await client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert answer.choices[0].message.content
    assert app.stats.received == 2


async def test_any_endpoint_in_the_style_of_the_sdk(tmp_path):
    app = sim()
    job = Job("gpt-4o-mini", client=simulator_openai_client(app), state=tmp_path / "e.state.db", quiet=True)
    job.add("chat.completions.create", messages=[{"role": "user", "content": "hi"}], max_tokens=5, custom_id="chat")
    job.add("embeddings.create", model="text-embedding-3-small", input="a line", custom_id="embed")
    job.add("/v1/moderations", input="is this fine?", custom_id="moderate")
    job.add("responses.create", input="hello", max_output_tokens=8, custom_id="respond")
    results = await job.run()
    by_id = {r.custom_id: r for r in results}
    assert by_id["chat"].response["object"] == "chat.completion"
    assert by_id["embed"].response["data"][0]["embedding"]
    assert by_id["embed"].response["model"] == "text-embedding-3-small"
    assert "results" in by_id["moderate"].response
    assert by_id["respond"].text
    assert results.errors == []


async def test_a_job_from_a_project_file_runs_and_writes_its_outputs(tmp_path):
    path = write_project(tmp_path, n=6, spec=plain_chat)
    app = sim()
    job = Job.from_project(path, client=simulator_openai_client(app), quiet=True)
    results = await job.run()
    assert ids(results) == [f"item-{i}" for i in range(6)]
    assert [r.metadata for r in results] == [{"word": f"w{i}"} for i in range(6)]
    assert job.project().results_path.read_text().count("\n") == 6
    with pytest.raises(TypeError, match="project file"):
        job.add(messages=[])


async def test_results_hold_only_this_jobs_requests_when_another_job_shared_the_state_file(tmp_path):
    await chat_job(tmp_path, sim(), n=5).run()
    app = sim()
    other = Job("gpt-4o-mini", client=simulator_openai_client(app), state=tmp_path / "out" / "t.state.db",
                quiet=True)
    other.add(messages=[{"role": "user", "content": "something else"}], custom_id="other", metadata=7)
    other.add(messages=[{"role": "user", "content": "Say w3"}], max_tokens=12, custom_id="row-3", metadata="x")
    results = await other.run()
    assert [(r.custom_id, r.metadata) for r in results] == [("other", 7), ("row-3", "x")]
    assert app.stats.received == 1, "row-3 was answered before: new metadata alone does not send it again"


async def test_ui_true_inside_an_event_loop_points_to_run_sync(tmp_path):
    job = chat_job(tmp_path, sim(), n=1)
    with pytest.raises(RuntimeError, match=r"run_sync\(ui=True\)"):
        await job.run(ui=True)


async def test_output_files_are_written_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    await chat_job(tmp_path / "a", sim(), n=2).run()
    assert not (tmp_path / "out").exists()
    assert not list((tmp_path / "a" / "out").glob("t.*.jsonl"))
    job = chat_job(tmp_path / "b", sim(), n=2, output={"results": str(tmp_path / "r.jsonl")})
    await job.run()
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert [line.count('"metadata":{"i":') for line in lines] == [1, 1]


async def test_results_stay_readable_after_the_job_is_closed(tmp_path):
    with chat_job(tmp_path, sim(), n=3) as job:
        results = await job.run()
        spool = job.project().spec.sources[0].path
    assert ids(results) == ["row-0", "row-1", "row-2"]
    del results
    gc.collect()
    assert not Path(spool).exists(), "the spool goes once nothing holds it"


async def test_a_stopped_job_tells_python_users_how_to_resume_in_python(tmp_path):
    stopped = await chat_job(tmp_path, sim(quota_after=4), n=10).run()
    assert stopped.state == "stopped" and "out of quota" in stopped.message
    assert stopped.message.endswith("; call run() again to resume: what is finished is skipped")
    assert "command" not in stopped.message and "oaib-tui" not in stopped.message
