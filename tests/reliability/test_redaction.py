"""Keys a server echoes, or a project's headers carry, are never printed nor stored.

A hostile loopback server puts the caller's Authorization header into its error
messages (as some proxies and compatible servers do); the run goes through the
real CLI as a subprocess, then every file it wrote and everything it printed is
searched for the key.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from hostile_server import KEY, KEY_ENV, Answer, hostile_project, hostile_server, prompt_id
from reliability_helpers import cli_env

from oaib_tui.errors import EXIT_SOME_FAILED, EXIT_STOPPED
from oaib_tui.redact import REDACTED, Redactor, redact, secret_headers

pytestmark = pytest.mark.slow


async def oaib(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oaib_tui.cli", *args, cwd=cwd, env=cli_env(**env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode() + err.decode()


def every_byte_under(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.rglob("*") if path.is_file() and path.name != "project.yaml")


def echo_for(statuses: dict[str, int]):
    def script(body, number):
        status = statuses.get(prompt_id(body))
        return Answer(status, echo_key=True) if status else Answer()
    return script


async def test_a_key_echoed_in_error_messages_is_never_printed_nor_stored(tmp_path):
    script = echo_for({"r001": 400, "r003": 429, "r004": 500})
    async with hostile_server(script) as server:
        project = hostile_project(tmp_path, server.base_url, [{"id": f"r{i:03d}"} for i in range(6)],
                                  limits={"max_retries": 1})
        code, printed = await oaib("run", str(project), "--no-ui", cwd=tmp_path, **{KEY_ENV: KEY})
        assert code == EXIT_SOME_FAILED, printed
        export_code, exported = await oaib("export", str(project), "--format", "csv", cwd=tmp_path, **{KEY_ENV: KEY})
        assert export_code == 0, exported
    stored = every_byte_under(tmp_path)
    assert KEY.encode() not in stored and KEY not in printed + exported
    assert REDACTED.encode() in stored  # the message itself is kept, less the key
    assert b"Incorrect API key provided" in stored


async def test_a_refused_key_echoed_back_stops_the_run_without_showing_it(tmp_path):
    async with hostile_server(lambda body, n: Answer(401, echo_key=True)) as server:
        project = hostile_project(tmp_path, server.base_url, [{"id": "r000"}, {"id": "r001"}])
        code, printed = await oaib("run", str(project), "--no-ui", cwd=tmp_path, **{KEY_ENV: KEY})
    assert code == EXIT_STOPPED
    assert "Incorrect API key provided" in printed and REDACTED in printed
    assert KEY not in printed and KEY.encode() not in every_byte_under(tmp_path)


async def test_validate_does_not_print_a_token_in_the_project_headers(tmp_path):
    token = "Bearer abc123def456ghi789-team-token"
    project = hostile_project(tmp_path, "http://127.0.0.1:9/v1", [{"id": "r000"}],
                              provider={"headers": {"Authorization": token, "X-Team": "search"}})
    code, printed = await oaib("validate", str(project), cwd=tmp_path)
    assert code == 0, printed
    assert "abc123def456" not in printed
    assert "Authorization: '[redacted]'" in printed and "X-Team: search" in printed


@pytest.mark.parametrize("text, expected", [
    ("Incorrect API key provided: Bearer sk-proj-abcdefghijklmnop1234", "Incorrect API key provided: [redacted]"),
    ("key sk-svcacct-AbCdEfGhIjKlMnOpQrStUv was refused", "key [redacted] was refused"),
    ("token eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0NTY3.SflKxwRJSMeKKF2QT4fw here", "token [redacted] here"),
    ("plain words, ids like batch_abc123 and sk-short stay", "plain words, ids like batch_abc123 and sk-short stay"),
])
def test_key_shaped_text_is_redacted(text, expected):
    assert redact(text) == expected


def test_the_projects_own_secrets_are_redacted_wherever_they_appear():
    azure_key = "0123456789abcdef0123456789abcdef"  # not key-shaped: known only as the project's key
    redactor = Redactor([azure_key, *secret_headers({"api-key": "hunter2-hunter2", "X-Team": "search-team"})])
    error = {"message": f"key {azure_key} denied", "nested": ["hunter2-hunter2 x"], azure_key: 1}
    assert redactor(error) == {"message": "key [redacted] denied", "nested": ["[redacted] x"], "[redacted]": 1}
    unchanged = {"message": "search-team is fine", "n": [1, 2]}
    assert redactor(unchanged) is unchanged
