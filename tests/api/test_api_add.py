"""Adding requests: the spool file, SDK-style arguments, metadata, mistakes, and memory at a million."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import openai
import pytest

from oaib_tui import Job
from oaib_tui.api.spool import custom_id_of, endpoint_url
from oaib_tui.project import RequestPlan


def quiet_job(tmp_path: Path, **options) -> Job:
    return Job("gpt-4o-mini", state=tmp_path / "out" / "j.state.db", quiet=True, **options)


def test_each_request_is_a_batch_input_line_in_the_spool(tmp_path):
    job = quiet_job(tmp_path)
    first = job.add(messages=[{"role": "user", "content": "hi"}], max_tokens=5, metadata={"row": 1})
    second = job.add("embeddings.create", input="text", custom_id="e-1", extra_body={"dimensions": 8})
    assert (first, second, len(job)) == ("request-1", "e-1", 2)
    spool = job.project().spec.sources[0].path
    lines = [json.loads(line) for line in Path(spool).read_text().splitlines()]
    assert lines == [
        {"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions",
         "body": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}, "metadata": {"row": 1}},
        {"custom_id": "e-1", "method": "POST", "url": "/v1/embeddings", "body": {"input": "text", "dimensions": 8}},
    ]
    assert Path(spool).parent == tmp_path / "out"


def test_the_plan_reads_the_spool_with_the_jobs_model_and_keeps_the_metadata(tmp_path):
    job = quiet_job(tmp_path)
    job.add(messages=[{"role": "user", "content": "hi"}], metadata=[1, "two"])
    job.add(model="gpt-4o", messages=[{"role": "user", "content": "yo"}], temperature=openai.NOT_GIVEN)
    requests = list(RequestPlan(job.project()))
    assert [r.body["model"] for r in requests] == ["gpt-4o-mini", "gpt-4o"]
    assert "temperature" not in requests[1].body
    assert [r.keep for r in requests] == [{"metadata": [1, "two"]}, {}]


def test_metadata_of_common_python_types_becomes_json(tmp_path):
    class NumpyLike:
        def item(self):
            return 42

    job = quiet_job(tmp_path)
    job.add(messages=[{"role": "user", "content": "x"}],
            metadata={"when": dt.date(2025, 1, 2), "n": NumpyLike(), "tags": ("a", "b"), "nan": float("nan")})
    [request] = list(RequestPlan(job.project()))
    meta = request.keep["metadata"]
    assert meta["when"] == "2025-01-02" and meta["n"] == 42 and meta["tags"] == ["a", "b"]
    assert meta["nan"] is None  # pandas' "missing": results.jsonl stays JSON, which has no NaN


def test_a_number_json_cannot_carry_is_refused_at_add_with_its_place(tmp_path):
    job = quiet_job(tmp_path)
    with pytest.raises(ValueError, match=r"`body.temperature` \(nan\) is not a finite number"):
        job.add(messages=[{"role": "user", "content": "x"}], temperature=float("nan"))
    job.add(messages=[{"role": "user", "content": "x"}], temperature=0.5)
    assert len(job) == 1


def test_a_custom_id_used_twice_is_refused_at_the_second_add(tmp_path):
    job = quiet_job(tmp_path)
    job.add(messages=[], custom_id="a")
    job.add(messages=[])
    with pytest.raises(ValueError, match=r"custom_id 'a' was already used by request 1"):
        job.add(messages=[], custom_id="a")
    with pytest.raises(ValueError, match="request 2"):
        job.add(messages=[], custom_id="request-2")
    assert len(job) == 2


@pytest.mark.parametrize("method, expected", [
    ("chat.completions.create", "/v1/chat/completions"),
    ("client.embeddings.create", "/v1/embeddings"),
    ("/v1/responses", "/v1/responses"),
])
def test_methods_name_endpoints(method, expected):
    assert endpoint_url(method) == expected


def test_an_unknown_method_suggests_the_closest():
    with pytest.raises(ValueError, match="did you mean `chat.completions.create`"):
        endpoint_url("chat.completion.create")


def test_sdk_options_that_a_job_cannot_honour_are_refused(tmp_path):
    job = quiet_job(tmp_path)
    with pytest.raises(TypeError, match="extra_headers"):
        job.add(messages=[], extra_headers={"x": "y"})
    with pytest.raises(ValueError, match="stream=True"):
        job.add(messages=[], stream=True)
    with pytest.raises(ValueError, match="custom_id must be a non-empty string"):
        job.add(messages=[], custom_id="")
    assert len(job) == 0


def test_running_a_job_without_requests_says_so(tmp_path):
    with pytest.raises(ValueError, match=r"no requests: add some with job.add") as raised:
        quiet_job(tmp_path).run_sync()
    # Not "During handling of the above exception (no running event loop) ...": the error stands alone.
    assert raised.value.__context__ is None and raised.value.__cause__ is None


def test_a_user_error_from_run_sync_arrives_without_the_event_loop_chain(tmp_path):
    from oaib_tui.errors import UserError

    job = quiet_job(tmp_path)
    job.add(messages=[{"role": "user", "content": "hi"}], max_tokens=4)
    job.state_path.parent.mkdir(parents=True, exist_ok=True)
    job.state_path.write_bytes(b"not a state file" * 100)  # refused with a UserError when the run opens it
    with pytest.raises(UserError) as raised:
        job.run_sync()
    assert raised.value.__context__ is None and raised.value.__cause__ is None


def test_run_sync_runs_outside_an_event_loop(tmp_path):
    from oaib_tui import simulator_client

    job = quiet_job(tmp_path, client=simulator_client(latency_ms=0, seed=3))
    job.add(messages=[{"role": "user", "content": "hi"}], max_tokens=4, metadata="m")
    [result] = job.run_sync()
    assert (result.custom_id, result.metadata, result.ok) == ("request-1", "m", True)


async def test_run_sync_inside_an_event_loop_points_to_await(tmp_path):
    job = quiet_job(tmp_path)
    job.add(messages=[])
    with pytest.raises(RuntimeError, match="await job.run"):
        job.run_sync()


def test_closing_the_job_deletes_the_spool_it_named_but_not_one_it_was_given(tmp_path):
    job = quiet_job(tmp_path)
    job.add(messages=[])
    spool = Path(job.project().spec.sources[0].path)
    assert spool.exists()
    job.close()
    assert not spool.exists() and len(job) == 0

    given = tmp_path / "mine.jsonl"
    with quiet_job(tmp_path, spool=given) as kept:
        kept.add(messages=[])
    assert given.read_text().count("\n") == 1


def test_custom_id_of_reads_only_the_start_of_the_line():
    assert custom_id_of('{"custom_id":"a\\"b","body":{}}\n') == 'a"b'
    assert custom_id_of('{"body":{},"custom_id":"late"}') == "late"


MILLION_SCRIPT = textwrap.dedent("""
    import asyncio, contextlib, sys
    from oaib_tui import Job, simulator_client

    job = Job("gpt-4o-mini", mode="realtime", limits={"rpm": 10**7, "tpm": 10**10, "concurrency": 32},
              state=sys.argv[1], quiet=True, client=simulator_client(latency_ms=0, rpm=10**7, tpm=10**10))
    for i in range(1_000_000):
        job.add(messages=[{"role": "user", "content": f"Summarise item number {i} in one line please."}],
                max_tokens=16, custom_id=f"row-{i}", metadata={"row": i, "group": i % 7})

    async def some_results():
        seen = []
        async with contextlib.aclosing(job.stream()) as stream:
            async for result in stream:
                seen.append(result.metadata["row"])
                if len(seen) == 300:
                    return seen

    seen = asyncio.run(some_results())
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec (a big pytest process).
    peak_kib = int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1])
    print(len(seen), len(set(seen)), peak_kib // 1024)
""")


@pytest.mark.slow
def test_a_million_added_requests_start_running_in_under_300_mb(tmp_path):
    out = subprocess.run([sys.executable, "-c", MILLION_SCRIPT, str(tmp_path / "big.state.db")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    results, distinct, peak_mb = map(int, out.stdout.split())
    assert (results, distinct) == (300, 300)
    assert peak_mb < 300, f"peak RSS {peak_mb} MB"


def test_a_state_path_under_home_is_the_one_the_engine_uses(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    job = Job("gpt-4o-mini", name="j", state="~/runs/{name}.state.db", quiet=True)
    job.add(messages=[{"role": "user", "content": "hi"}])
    assert job.state_path == tmp_path / "home" / "runs" / "j.state.db" == job.project().state_path
    job.close()
