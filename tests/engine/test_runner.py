"""The realtime engine against the in-process simulator, on virtual time (no test sleeps for real)."""

from __future__ import annotations

import pytest
import yaml
from engine_helpers import read_jsonl, run_job, sim_app, write_project

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_OK, EXIT_SOME_FAILED, EXIT_STOPPED
from oaib_tui.project import load_project
from oaib_tui.report import resume_hint

pytestmark = pytest.mark.looptime


async def test_a_clean_run_answers_every_item_once_in_source_order(tmp_path):
    path = write_project(tmp_path, n=25)
    finished, rec, job = await run_job(path, sim_app())
    assert (finished.state, finished.done, finished.failed, finished.exit_code) == ("finished", 25, 0, EXIT_OK)
    results = read_jsonl(job.project.results_path)
    assert [r["custom_id"] for r in results] == [f"item-{i}" for i in range(25)]
    assert all(r["word"] == f"w{i}" for i, r in enumerate(results))
    assert len(rec.of(ev.RequestSent)) == 25
    assert finished.cost_usd > 0


async def test_limits_are_learned_from_the_headers(tmp_path):
    path = write_project(tmp_path, n=12)
    _, rec, _ = await run_job(path, sim_app(rpm=900, tpm=90_000))
    learned = [e for e in rec.of(ev.LimitsObserved) if e.source == "headers"]
    assert learned and learned[-1].rpm_limit == 900 and learned[-1].tpm_limit == 90_000
    assert rec.of(ev.LimitsObserved)[0].source == "starting"


async def test_learned_limits_are_capped_by_the_project(tmp_path):
    path = write_project(tmp_path, n=12, limits={"rpm": 300, "tpm": 30_000})
    _, rec, _ = await run_job(path, sim_app(rpm=900, tpm=90_000))
    last = rec.of(ev.LimitsObserved)[-1]
    assert (last.rpm_limit, last.tpm_limit) == (300, 30_000)


@pytest.mark.parametrize("fault, reason", [
    ("503", "503"), ("500", "500"), ("drop", "connection dropped"), ("malformed", "malformed response"),
    ("timeout", "timeout"), ("429-requests", "429 requests"), ("429-tokens", "429 tokens"),
])
async def test_transient_faults_are_retried_with_their_reason(tmp_path, fault, reason):
    path = write_project(tmp_path, n=3, limits={"concurrency": 1, "timeout_s": 5})
    app = sim_app()
    app.inject(fault)
    finished, rec, _ = await run_job(path, app)
    retries = rec.of(ev.RetryScheduled)
    assert [r.reason for r in retries] == [reason]
    assert retries[0].custom_id == "item-0" and retries[0].attempt == 1
    assert finished.done == 3 and finished.exit_code == EXIT_OK


async def test_a_429_pauses_everyone_until_the_server_said(tmp_path):
    path = write_project(tmp_path, n=6, limits={"concurrency": 1})
    app = sim_app()
    app.inject("429-tokens")
    _, rec, _ = await run_job(path, app)
    [limited] = rec.of(ev.RateLimited)
    assert limited.kind == "tokens" and limited.pause_s > 0
    after = [e for e in rec.of(ev.RequestSent) if e.at > limited.at]
    assert after and all(e.at >= limited.resume_at - 0.01 for e in after)


async def test_backoff_grows_exponentially_without_a_server_delay(tmp_path):
    path = write_project(tmp_path, n=1, limits={"max_retries": 4})
    app = sim_app()
    app.inject("503", "503", "503", "503")
    finished, rec, _ = await run_job(path, app)
    delays = [r.delay_s for r in rec.of(ev.RetryScheduled)]
    assert len(delays) == 4 and finished.done == 1
    assert all(later > earlier for earlier, later in zip(delays, delays[1:]))
    sent = [e.at for e in rec.of(ev.RequestSent)]
    assert sent[-1] - sent[0] >= sum(delays) * 0.99


async def test_a_request_fails_after_max_retries(tmp_path):
    path = write_project(tmp_path, n=1, limits={"max_retries": 2})
    app = sim_app()
    app.inject("500", "500", "500")
    finished, rec, job = await run_job(path, app)
    [failed] = rec.of(ev.RequestFailed)
    assert failed.custom_id == "item-0" and failed.attempt == 3 and "gave up after 3 attempts" in failed.reason
    assert len(rec.of(ev.RetryScheduled)) == 2
    assert (finished.done, finished.failed, finished.exit_code) == (0, 1, EXIT_SOME_FAILED)
    errors = read_jsonl(job.project.errors_path)
    assert [e["custom_id"] for e in errors] == ["item-0"]


@pytest.mark.parametrize("fault", ["400"])
async def test_client_errors_fail_at_once_with_the_servers_message(tmp_path, fault):
    path = write_project(tmp_path, n=2, limits={"concurrency": 1})
    app = sim_app()
    app.inject(fault)
    finished, rec, _ = await run_job(path, app)
    [failed] = rec.of(ev.RequestFailed)
    assert failed.attempt == 1 and failed.status_code == 400 and failed.message
    assert not rec.of(ev.RetryScheduled)
    assert finished.exit_code == EXIT_SOME_FAILED


@pytest.mark.parametrize("fault, reason", [("401", "auth"), ("quota", "quota")])
async def test_auth_and_quota_stop_the_run_and_keep_the_rest_pending(tmp_path, fault, reason):
    path = write_project(tmp_path, n=10, limits={"concurrency": 1})
    app = sim_app()
    app.inject("ok", "ok", fault)
    finished, rec, _job = await run_job(path, app)
    assert (finished.state, finished.reason, finished.exit_code) == ("stopped", reason, EXIT_STOPPED)
    assert finished.done == 2 and not rec.of(ev.RequestFailed)
    assert "command" not in finished.message  # a fact and a reason code: each front end says how to resume
    assert resume_hint(load_project(path), "cli").startswith("Resume with: oaib-tui")
    assert resume_hint(load_project(path), "python").startswith("call run() again to resume")
    # Resuming later sends only what was not answered.
    finished2, rec2, _ = await run_job(path, sim_app())
    assert finished2.done == 10 and len(rec2.of(ev.RequestSent)) == 8


async def test_the_budget_cap_is_never_crossed(tmp_path):
    # gpt-4o-mini worst case per request: ~20 prompt tokens and 20 output tokens ≈ $0.000015
    path = write_project(tmp_path, n=50, limits={"max_cost_usd": 0.0002, "concurrency": 4})
    finished, rec, _ = await run_job(path, sim_app())
    assert (finished.state, finished.reason, finished.exit_code) == ("stopped", "budget", EXIT_STOPPED)
    assert 0 < finished.done < 50
    assert finished.cost_usd <= 0.0002
    assert "max_cost_usd" in rec.of(ev.RunStopping)[0].message


async def test_pause_stops_sending_until_resumed(tmp_path):
    path = write_project(tmp_path, n=20, limits={"concurrency": 2})
    app = sim_app(latency_ms=100)
    marks: dict = {}

    def steer(event):
        engine = job_ref["job"].engine
        if isinstance(event, ev.RequestSucceeded) and event.custom_id == "item-3" and "paused" not in marks:
            engine.pause()
            marks["paused"] = event.at
            import asyncio

            asyncio.get_running_loop().call_later(30, engine.resume)

    job_ref: dict = {}
    from engine_helpers import Recorder

    from oaib_tui.job import JobRun
    from oaib_tui.project import load_project
    from oaib_tui.sim.client import simulator_http_client

    rec = Recorder()
    job = JobRun(load_project(path), http_client=simulator_http_client(app), consumers=[rec, steer])
    job_ref["job"] = job
    try:
        finished = await job.run()
    finally:
        job.close()
    assert finished.done == 20
    paused, resumed = rec.of(ev.RunPaused)[0], rec.of(ev.RunResumed)[0]
    sent_while_paused = [e for e in rec.of(ev.RequestSent) if paused.at < e.at < resumed.at]
    assert not sent_while_paused
    assert resumed.at - paused.at == pytest.approx(30, abs=0.5)  # event times follow the loop's (virtual) clock


async def test_resume_after_a_stop_sends_only_the_rest(tmp_path):
    path = write_project(tmp_path, n=30, limits={"concurrency": 3})
    app = sim_app(latency_ms=50)
    job_ref: dict = {}

    def stop_after_ten(event):
        if isinstance(event, ev.RequestSucceeded) and job_ref["n"] == 10:
            job_ref["job"].engine.stop()
        if isinstance(event, ev.RequestSucceeded):
            job_ref["n"] += 1

    from oaib_tui.job import JobRun
    from oaib_tui.project import load_project
    from oaib_tui.sim.client import simulator_http_client

    job_ref["n"] = 0
    job = JobRun(load_project(path), http_client=simulator_http_client(app), consumers=[stop_after_ten])
    job_ref["job"] = job
    try:
        first = await job.run()
    finally:
        job.close()
    assert first.state == "stopped" and first.reason == "interrupted" and first.exit_code == 130
    answered_first = first.done
    finished, rec, job2 = await run_job(path, sim_app())
    assert finished.done == 30
    assert len(rec.of(ev.RequestSent)) == 30 - answered_first
    assert rec.of(ev.RunStarted)[0].resumed_done == answered_first
    ids = [r["custom_id"] for r in read_jsonl(job2.project.results_path)]
    assert ids == [f"item-{i}" for i in range(30)]


async def test_an_edited_template_sends_everything_again_and_an_edited_record_only_itself(tmp_path):
    path = write_project(tmp_path, n=8)
    await run_job(path, sim_app())
    spec = yaml.safe_load(path.read_text())
    spec["sources"][0]["items"][5]["word"] = "changed"
    path.write_text(yaml.safe_dump(spec))
    _, rec, _ = await run_job(path, sim_app())
    assert [e.custom_id for e in rec.of(ev.RequestSent)] == ["item-5"]
    spec["request"]["messages"][0]["content"] = "Now say {word}"
    path.write_text(yaml.safe_dump(spec))
    finished, rec, _ = await run_job(path, sim_app())
    assert len(rec.of(ev.RequestSent)) == 8 and finished.done == 8
    _, rec, _ = await run_job(path, sim_app())
    assert not rec.of(ev.RequestSent)


async def test_new_records_are_sent_on_resume(tmp_path):
    path = write_project(tmp_path, n=5)
    await run_job(path, sim_app())
    spec = yaml.safe_load(path.read_text())
    spec["sources"][0]["items"].append({"n": 99, "word": "new"})
    path.write_text(yaml.safe_dump(spec))
    finished, rec, _ = await run_job(path, sim_app())
    assert [e.custom_id for e in rec.of(ev.RequestSent)] == ["item-99"] and finished.done == 6


async def test_retry_failed_sends_failed_items_again(tmp_path):
    path = write_project(tmp_path, n=3, limits={"concurrency": 1})
    app = sim_app()
    app.inject("400")
    first, _, _ = await run_job(path, app)
    assert first.failed == 1
    finished, rec, _ = await run_job(path, sim_app(), retry_failed=True)
    assert [e.custom_id for e in rec.of(ev.RequestSent)] == ["item-0"]
    assert (finished.done, finished.failed, finished.exit_code) == (3, 0, EXIT_OK)


async def test_fixed_limits_keep_under_the_servers_buckets(tmp_path):
    # 60 requests of 30 tokens each under a TPM of 600 (10 tokens/s) with 10 s buckets (100 tokens):
    # the server allows it in no less than (1800 - 100) / 10 = 170 virtual seconds.
    path = write_project(tmp_path, n=60, mode="realtime", limits={"rpm": 60, "tpm": 600, "safety": 0.05})
    app = sim_app(rpm=60, tpm=600, bucket_s=10)
    finished, rec, _ = await run_job(path, app)
    assert finished.done == 60
    assert not rec.of(ev.RateLimited)
    sent = rec.of(ev.RequestSent)
    reserved = sum(e.reserved_tokens for e in sent)
    assert app.stats.as_dict()["rate_limited"].get("tokens", 0) == 0
    assert reserved == 1800
    elapsed = sent[-1].at - sent[0].at
    assert 170 <= elapsed <= 200


async def test_fixed_limits_spend_the_burst_the_servers_headers_report(tmp_path):
    # 60 requests under an RPM of 60 with a 60 s bucket: the server admits them all at once. Pacing
    # blindly at the configured rate would take about a minute; the headers show the bucket is full.
    path = write_project(tmp_path, n=60, mode="realtime", limits={"rpm": 60, "tpm": 60_000, "safety": 0.05})
    app = sim_app(rpm=60, tpm=60_000, bucket_s=60)
    finished, rec, _ = await run_job(path, app)
    assert finished.done == 60
    assert not rec.of(ev.RateLimited)
    assert app.stats.as_dict()["rate_limited"] == {}
    sent = rec.of(ev.RequestSent)
    assert sent[-1].at - sent[0].at < 5
    assert {e.source for e in rec.of(ev.LimitsObserved)} == {"fixed"}


async def test_estimated_token_counts_are_said_once(tmp_path, monkeypatch):
    from oaib_tui import tokens

    def unavailable(name):
        tokens._estimated_encodings.add(name)
        return None

    monkeypatch.setattr(tokens, "_load_with_timeout", unavailable)
    monkeypatch.setattr(tokens, "_estimated_encodings", set())
    tokens._encoding.cache_clear()
    tokens.text_counter.cache_clear()
    try:
        path = write_project(tmp_path, n=5, limits={"max_cost_usd": 5})  # a spend cap: counts matter
        finished, rec, _ = await run_job(path, sim_app())
    finally:
        tokens._encoding.cache_clear()
        tokens.text_counter.cache_clear()
    notices = [n for n in rec.of(ev.Notice) if "estimated" in n.message]
    assert len(notices) == 1 and finished.done == 5


@pytest.mark.parametrize("limits, exact", [
    ({}, False),  # the simulator's limits are far away: the byte bound is reserved, no tokenizer needed
    ({"max_cost_usd": 5}, True),  # a spend cap stops on worst-case costs
    ({"rpm": 600, "tpm": 2_000}, True),  # a TPM limit within reach paces by the tokens reserved
])
async def test_prompts_are_counted_exactly_where_counts_can_change_the_run(tmp_path, limits, exact):
    from oaib_tui import tokens

    path = write_project(tmp_path, n=6, mode="realtime" if "rpm" in limits else "auto", limits=limits,
                         request={"max_tokens": 20, "messages": [{"role": "user", "content": "Grüße, {word}: 世界"}]})
    finished, rec, _ = await run_job(path, sim_app())
    queued = rec.of(ev.RequestQueued)
    assert finished.done == 6 and len(queued) == 6
    for event in queued:
        exact_count = tokens.prompt_tokens("/v1/chat/completions", event.body, "gpt-4o-mini")
        bound = tokens.prompt_tokens_at_most("/v1/chat/completions", event.body)
        assert bound > exact_count  # the bound is never short, and here well above
        assert event.prompt_tokens == (exact_count if exact else bound)
    answered = {e.custom_id: e.usage.prompt_tokens for e in rec.of(ev.RequestSucceeded)}
    assert set(answered.values()) == {tokens.prompt_tokens("/v1/chat/completions", queued[0].body, "gpt-4o-mini")}


async def test_counts_turn_exact_when_the_tokens_reserved_near_the_tpm_limit():
    from oaib_tui import tokens
    from oaib_tui.engine.feed import PromptCounts
    from oaib_tui.project import PreparedRequest

    clock = [0.0]
    asked: list[float] = []

    def matter(rate: float) -> bool:
        asked.append(rate)
        return rate >= 25_000

    counts = PromptCounts(matter, lambda: clock[0])
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 96}]}
    request = PreparedRequest(seq=0, custom_id="a", body=body, body_hash="", input_key=0, source="inline", line=1,
                              keep={}, url="/v1/chat/completions")
    bound = tokens.prompt_tokens_at_most("/v1/chat/completions", body)  # 96 + 3 + 3 + 4 ("user") = 106
    assert bound == 106
    assert counts.prompt(request, "gpt-4o-mini", 0) == bound  # 106 tokens this second: 6,360 a minute
    clock[0] = 0.5
    assert counts.prompt(request, "gpt-4o-mini", 0) == bound
    for n in range(3):  # the next second: the last one's 12,720 a minute, until this one's own is more
        clock[0] = 1.0 + n * 0.1
        assert counts.prompt(request, "gpt-4o-mini", 0) == bound
    assert asked == [6_360, 12_720, 12_720, 12_720, 19_080]
    clock[0] = 1.3
    assert counts.prompt(request, "gpt-4o-mini", 0) < bound and counts.newly_exact  # 25,440 a minute: exact
    assert asked[-1] == 25_440
    assert counts.prompt(request, "gpt-4o-mini", 0) < bound and not counts.newly_exact and counts.exact


async def test_sources_are_pulled_only_as_capacity_frees_up(tmp_path):
    data = tmp_path / "big.txt"
    data.write_text("".join(f"prompt {i}\n" for i in range(20_000)))
    path = write_project(tmp_path, sources=[{"path": "big.txt"}],
                         request={"max_tokens": 5, "messages": [{"role": "user", "content": "{text}"}]},
                         limits={"concurrency": 2})
    job_ref: dict = {"sent": 0}

    def stop_early(event):
        if isinstance(event, ev.RequestSent):
            job_ref["sent"] += 1
            if job_ref["sent"] == 10:
                job_ref["job"].engine.stop()

    from engine_helpers import Recorder

    from oaib_tui.job import JobRun
    from oaib_tui.project import load_project
    from oaib_tui.sim.client import simulator_http_client

    rec = Recorder()
    job = JobRun(load_project(path), http_client=simulator_http_client(sim_app(latency_ms=50)), consumers=[rec, stop_early])
    job_ref["job"] = job
    try:
        finished = await job.run()
    finally:
        job.close()
    assert finished.state == "stopped"
    assert len(rec.of(ev.RequestQueued)) <= 12  # not 20,000: records are read as they are sent


@pytest.mark.parametrize("kind, extra", [
    ("azure", {"api_version": "2024-10-21", "base_url": "http://simulator.local"}),
    ("compatible", {"base_url": "http://simulator.local/v1"}),
    ("openai", {"base_url": "http://simulator.local/v1", "api_key_env": "TEST_OAIB_KEY"}),
])
async def test_every_provider_kind_reaches_the_server(tmp_path, monkeypatch, kind, extra):
    monkeypatch.setenv(extra.get("api_key_env", "OPENAI_API_KEY"), "sk-test-key")
    path = write_project(tmp_path, n=3, provider={"kind": kind, **extra})
    app = sim_app()
    finished, _, _ = await run_job(path, app)
    assert finished.done == 3
    assert app.stats.as_dict()["answered"] == 3


@pytest.mark.parametrize("endpoint, request_body", [
    ("/v1/embeddings", {"input": "{word}"}),
    ("/v1/responses", {"input": "Say {word}", "max_output_tokens": 16}),
    ("/v1/completions", {"prompt": "Say {word}", "max_tokens": 8}),
    ("/v1/moderations", {"input": "{word}"}),
])
async def test_every_endpoint_runs_and_records_usage(tmp_path, endpoint, request_body):
    model = "text-embedding-3-small" if "embeddings" in endpoint else "gpt-4o-mini"
    path = write_project(tmp_path, n=3, endpoint=endpoint, model=model)
    spec = yaml.safe_load(path.read_text())
    spec["request"] = request_body  # in place of the chat template: the endpoint refuses its keys
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    finished, rec, _job = await run_job(path, sim_app())
    assert finished.done == 3
    succeeded = rec.of(ev.RequestSucceeded)
    if endpoint != "/v1/moderations":
        assert all(s.usage.prompt_tokens > 0 for s in succeeded)


async def test_after_a_template_change_the_next_resume_takes_the_fast_path_again(tmp_path):
    path = write_project(tmp_path, n=6)
    await run_job(path, sim_app())
    spec = yaml.safe_load(path.read_text())
    spec["output"] = {"keep": []}  # not part of the request: bodies stay the same
    spec["sources"][0]["id"] = "item-{n}"
    spec["request"]["temperature"] = 0  # part of the request: every body changes
    path.write_text(yaml.safe_dump(spec))
    _, rec, job = await run_job(path, sim_app())
    assert len(rec.of(ev.RequestSent)) == 6
    spec["output"] = {"keep": ["word"]}
    path.write_text(yaml.safe_dump(spec))
    from oaib_tui.job import JobRun
    from oaib_tui.project import load_project

    job = JobRun(load_project(path))
    try:
        index = job.resume_index()
    finally:
        job.close()
    assert index.done_keys is not None and len(index.done_keys) == 6
