"""The API key: read only from the variable the project names, and never written or printed anywhere.

Jobs run as a user runs them (subprocesses of the real CLI) against the
simulator on 127.0.0.1, which demands the key: realtime with failing items,
a run refused for a wrong key, batch mode, then status, exports, validate and
a dry run. Then every byte of every file they wrote, and everything they
printed, is searched for the key and for an Authorization header.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import openai
import pytest
from reliability_helpers import run_cli, write_ledger_project

from oaib_tui.engine.client import send
from oaib_tui.errors import EXIT_OK, EXIT_SOME_FAILED, EXIT_STOPPED
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.app import create_app
from oaib_tui.sim.client import simulator_openai_client
from oaib_tui.sim.server import running_server

pytestmark = pytest.mark.slow

KEY = "sk-proj-SECRETtestkey-1234567890abcdefABCDEF"
KEY_ENV = "OAIB_RELIABILITY_KEY"
WRONG = "sk-proj-WRONGtestkey-0987654321zyxwvuZYXWVU"
FAST_BATCHES = {"time_scale": 500, "batch_validation_s": 2, "batch_lines_per_s": 5000, "batch_finalizing_s": 2}


def compatible_project(folder: Path, url: str, **overrides) -> Path:
    """Provider kind `compatible`: no simulator fallback key, the key must come from KEY_ENV."""
    folder.mkdir()
    return write_ledger_project(folder, url, 30, bad_every=7, provider={"kind": "compatible", "base_url": url,
                                                                 "api_key_env": KEY_ENV}, **overrides)


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_the_key_is_never_written_nor_printed(tmp_path):
    app = create_app(SimulatorSettings(latency_ms=0, require_key=KEY, **FAST_BATCHES))
    printed: list[str] = []

    def oaib(*args: str, key: str = KEY, expect: int = EXIT_OK) -> None:
        done = run_cli(*args, **{KEY_ENV: key, "OPENAI_API_KEY": WRONG})  # a decoy: never the one to use
        printed.extend([done.stdout, done.stderr])
        assert done.returncode == expect, done.stderr

    with running_server(app=app) as url:
        realtime = compatible_project(tmp_path / "realtime", url, limits={"max_retries": 0})
        refused = compatible_project(tmp_path / "refused", url)
        batch = compatible_project(tmp_path / "batch", url, mode="batch", batch={"max_requests": 10, "poll_s": 0.05})
        oaib("run", str(realtime), "--no-ui", expect=EXIT_SOME_FAILED)
        oaib("run", str(refused), "--no-ui", key=WRONG, expect=EXIT_STOPPED)
        oaib("run", str(batch), "--no-ui", expect=EXIT_SOME_FAILED)
        for project in (realtime, batch):
            oaib("status", str(project))
            oaib("export", str(project), "--format", "csv")
        oaib("validate", str(realtime))
        oaib("run", str(realtime), "--dry-run")

    assert app.stats.as_dict()["answered"] > 0 and app.batch_api.stats.batches_created > 0  # the key did work
    assert "refused the key" in "".join(printed)
    written = files_under(tmp_path)
    names = {path.relative_to(tmp_path).as_posix() for path in written}
    assert {"realtime/out/rel.state.db", "realtime/out/rel.errors.jsonl", "realtime/out/rel.results.csv",
            "batch/out/rel.results.jsonl", "refused/out/rel.state.db"} <= names
    for path in written:
        data = path.read_bytes()
        for secret in (KEY, WRONG):
            assert secret.encode() not in data, f"the key is in {path}"
        assert b"Bearer" not in data and b"uthorization" not in data, f"an Authorization header is in {path}"
    for text in printed:
        assert KEY not in text and WRONG not in text and "Bearer" not in text


def test_the_state_file_and_its_sidecars_are_readable_by_their_owner_only(tmp_path):
    with running_server(SimulatorSettings(latency_ms=0)) as url:
        project = write_ledger_project(tmp_path, url, 5)
        old_umask = os.umask(0o022)  # a common umask that would leave new files world-readable
        try:
            assert run_cli("run", str(project), "--no-ui").returncode == EXIT_OK
        finally:
            os.umask(old_umask)
    state_files = list((tmp_path / "out").glob("rel.state.db*"))
    assert {p.name for p in state_files} >= {"rel.state.db", "rel.state.db.lock"}
    for path in state_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


@pytest.mark.parametrize("fault", ["401", "500", "400", "drop", "malformed", "unreachable"])
async def test_what_a_failed_request_says_never_quotes_its_key_or_headers(fault):
    app = create_app(SimulatorSettings(latency_ms=0, require_key=None if fault != "401" else WRONG))
    if fault == "unreachable":
        client = openai.AsyncOpenAI(api_key=KEY, base_url=closed_port_url(), max_retries=0)
    else:
        client = simulator_openai_client(app, api_key=KEY)
        app.inject(fault)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    reply = await send(client, "/v1/chat/completions", body, timeout_s=5)
    await client.close()
    assert (reply.failure or reply.status != 200) and (reply.message or reply.body)
    said = f"{reply.message} {reply.body} {reply!r}"
    assert KEY not in said and "Bearer" not in said and "uthorization" not in said
