"""`--detach`: the batches are created and recorded, the process leaves, a later run re-attaches."""

from __future__ import annotations

import asyncio
import io

import pytest
from api_helpers import sim
from job_helpers import write_project

from oaib_tui.detach import run_detached, run_until_detached
from oaib_tui.errors import EXIT_OK, UserError
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.remote_batches import describe_remote, remote_states
from oaib_tui.sim.app import create_app
from oaib_tui.sim.client import simulator_http_client, simulator_openai_client
from oaib_tui.state.batches import read_parts
from oaib_tui.state.reader import StateReader

SLOW_BATCHES = {"batch_validation_s": 60, "batch_lines_per_s": 0.01, "batch_finalizing_s": 60}


def detached_chat(n: int) -> dict:
    return {
        "name": "d", "model": "gpt-4o-mini", "mode": "batch", "provider": {"kind": "simulator"},
        "batch": {"max_requests": 4, "poll_s": 30},
        "sources": [{"items": [{"n": i} for i in range(n)], "id": "item-{n}"}],
        "request": {"max_tokens": 12, "messages": [{"role": "user", "content": "Say {n}"}]},
    }


def batch_project(tmp_path, n=10, **overrides):
    return load_project(write_project(tmp_path, n, spec=detached_chat, **overrides))


async def run_once(project, app, *, detach: bool):
    job = JobRun(project, http_client=simulator_http_client(app))
    try:
        if detach:
            return await run_until_detached(job)
        return await job.run(), False
    finally:
        job.close()


def phases(project) -> list[str]:
    with StateReader.open_readonly(project.state_path) as reader:
        return [part.phase for part in read_parts(reader)]


def done_count(project) -> int:
    with StateReader.open_readonly(project.state_path) as reader:
        return reader.counts()["done"]


@pytest.mark.looptime
async def test_detach_leaves_once_every_request_is_in_a_created_batch_and_a_later_run_finishes(tmp_path):
    project = batch_project(tmp_path)
    app = sim(**SLOW_BATCHES)
    finished, detached = await run_once(project, app, detach=True)
    assert detached and finished.state == "stopped"
    assert phases(project) == ["submitted"] * 3
    assert app.batch_api.stats.batches_created == 3 and done_count(project) == 0

    finished, detached = await run_once(project, app, detach=False)
    assert not detached and (finished.state, finished.done, finished.exit_code) == ("finished", 10, EXIT_OK)
    assert app.batch_api.stats.batches_created == 3, "re-attached: no batch created again"


@pytest.mark.looptime
async def test_batches_that_finished_while_detached_are_downloaded_on_return(tmp_path):
    project = batch_project(tmp_path)
    app = sim(batch_validation_s=60, batch_lines_per_s=1, batch_finalizing_s=60)
    await run_once(project, app, detach=True)
    await asyncio.sleep(3 * 3600)  # virtual: the simulator's batches all complete meanwhile
    states = await remote_states(project, simulator_openai_client(app))
    assert [state.remote.status for state in states] == ["completed"] * 3

    started = asyncio.get_running_loop().time()
    finished, _ = await run_once(project, app, detach=False)
    assert (finished.state, finished.done) == ("finished", 10)
    assert app.batch_api.stats.batches_created == 3
    assert asyncio.get_running_loop().time() - started < 60, "ended batches are downloaded at once, not polled for"


@pytest.mark.looptime
async def test_status_remote_shows_each_batch_as_the_provider_sees_it(tmp_path):
    project = batch_project(tmp_path)
    app = sim(**SLOW_BATCHES)
    await run_once(project, app, detach=True)
    await asyncio.sleep(120)
    states = await remote_states(project, simulator_openai_client(app))
    assert [state.remote.status for state in states] == ["in_progress"] * 3
    assert [state.part.status for state in states] == ["validating"] * 3, "the state file is not changed"
    text = describe_remote(states)
    assert all(state.part.batch_id in text for state in states)
    assert text.count("in_progress") == 3 and "(state file: validating)" in text


@pytest.mark.looptime
async def test_a_job_with_nothing_left_ends_instead_of_detaching(tmp_path):
    project = batch_project(tmp_path, n=3)
    app = sim(batch_validation_s=1, batch_lines_per_s=100, batch_finalizing_s=1)
    await run_once(project, app, detach=False)
    finished, detached = await run_once(project, app, detach=True)
    assert not detached and finished.state == "finished"


def test_the_command_prints_how_to_come_back_and_exits_0(tmp_path):
    project = batch_project(tmp_path)
    app = create_app(SimulatorSettings(latency_ms=0, seed=1, **SLOW_BATCHES))
    out = io.StringIO()
    assert run_detached(project, out=out, http_client=simulator_http_client(app)) == EXIT_OK
    text = out.getvalue()
    assert "Detached: 3 batches at the provider hold every request not yet answered" in text
    assert f"Come back with:  oaib-tui {project.path}" in text
    assert f"oaib-tui status {project.path} --remote" in text and f"oaib-tui cancel {project.path}" in text


def test_detach_needs_batch_mode(tmp_path):
    project = batch_project(tmp_path, mode="auto")
    with pytest.raises(UserError, match="--detach needs batch mode"):
        run_detached(project, out=io.StringIO())


def test_detach_refuses_the_in_process_simulator_whose_batches_die_with_the_process(tmp_path):
    project = batch_project(tmp_path)
    with pytest.raises(UserError, match="outlives this process") as raised:
        run_detached(project, out=io.StringIO())
    problem = raised.value.problems[0]
    assert problem.key == "provider.kind" and "oaib-tui sim" in (problem.hint or "")
    assert not project.state_path.exists()  # refused before anything was created


@pytest.mark.slow
def test_detach_status_remote_and_return_as_a_user_types_them(tmp_path):
    import json
    import subprocess
    import sys

    from oaib_tui.sim.server import running_server

    def oaib(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "oaib_tui.cli", *args], capture_output=True, text=True, timeout=120)

    app = create_app(SimulatorSettings(latency_ms=0, seed=1, **SLOW_BATCHES))
    with running_server(app=app) as url:
        project = batch_project(tmp_path, provider={"kind": "simulator", "base_url": url},
                                batch={"max_requests": 4, "poll_s": 0.2})
        path = str(project.path)
        left = oaib(path, "--detach")
        assert left.returncode == 0, left.stderr
        assert "Detached: 3 batches" in left.stdout and f"oaib-tui status {path} --remote" in left.stdout

        status = oaib("status", path, "--remote")
        assert status.returncode == 0, status.stderr
        assert status.stdout.count("(state file: ") == 3 and "to do    10" in status.stdout

        app.update(time_scale=10_000)  # a day passes at the provider
        back = oaib(path, "--no-ui")
        assert back.returncode == 0, back.stderr
        results = [json.loads(line) for line in project.results_path.read_text().splitlines()]
        assert [r["custom_id"] for r in results] == [f"item-{i}" for i in range(10)]
        assert app.batch_api.stats.batches_created == 3
