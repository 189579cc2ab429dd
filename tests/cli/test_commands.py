"""The command line: help, version, validate, dry-run and the simulator served over loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import openai
import pytest

from oaib_tui import __version__


def oaib(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "oaib_tui.cli", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("command", [[], ["run"], ["validate"], ["sim"], ["status"], ["export"]])
def test_every_command_has_help(command):
    done = oaib(*command, "--help")
    assert done.returncode == 0 and "Usage:" in done.stdout


def test_version():
    done = oaib("--version")
    assert done.returncode == 0 and __version__ in done.stdout


def test_validate_prints_the_normalized_project_and_first_requests(projects_dir):
    done = oaib("validate", str(projects_dir / "demo.yaml"), "--show", "2")
    assert done.returncode == 0, done.stderr
    assert "valid project `demo`" in done.stdout
    assert done.stdout.count("# request ") == 2 and "300 requests" in done.stdout
    assert "# prices as of 20" in done.stdout


def test_dry_run_prints_the_forecast(projects_dir):
    done = oaib(str(projects_dir / "demo.yaml"), "--dry-run")
    assert done.returncode == 0, done.stderr
    for label in ("requests", "prompt tokens", "max output tokens", "cost, realtime", "cost, Batch API", "shortest time"):
        assert label in done.stdout
    assert "exact (tiktoken)" in done.stdout


def test_a_missing_project_file_is_exit_2_without_traceback(tmp_path):
    done = oaib("validate", str(tmp_path / "nope.yaml"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and "nope.yaml" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sim_serves_any_openai_client_on_loopback():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "oaib_tui.cli", "sim", "--port", str(port), "--rpm", "2",
                             "--latency-ms", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.models.list()
                break
            except openai.APIConnectionError:
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.1)
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
        assert raw.headers["x-ratelimit-limit-requests"] == "2"
        assert raw.parse().choices[0].message.content
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
        assert "requests per min (RPM)" in refused.value.message
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(("option", "named"), [("--fail-rate", "fail"), ("--flex-unavailable-rate", "flex")])
def test_sim_refuses_bad_settings_without_a_traceback(option, named):
    done = oaib("sim", option, "2")
    assert done.returncode == 2 and "Traceback" not in done.stderr and named in done.stderr


def test_exit_codes_read_the_same_in_run_help_top_level_help_and_readme():
    from pathlib import Path

    from oaib_tui.errors import EXIT_CODES_HELP

    words = " ".join(EXIT_CODES_HELP.split())
    for args in (["--help"], ["run", "--help"]):
        assert words in " ".join(oaib(*args).stdout.split())
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert words in " ".join(readme.split())


def test_top_level_help_shows_the_run_flags():
    text = oaib("--help").stdout
    for flag in ("--no-ui", "--dry-run", "--fresh", "--retry-failed", "--detach"):
        assert flag in text
