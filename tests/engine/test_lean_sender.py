"""The lean sender sends byte for byte what the SDK's path sends, and reads answers the same way.

A recording server on 127.0.0.1 keeps every request it gets; each provider kind
sends the same rendered body once through each path, and the two recordings are
compared: method, path and query, headers (but the ones that vary per request),
body bytes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web

from oaib_tui.connect import client_for, sender_for
from oaib_tui.engine.client import SdkSender
from oaib_tui.engine.lean import VOLATILE_HEADERS, LeanSender
from oaib_tui.project import load_project

BODY = {"model": "gpt-4o-mini", "max_tokens": 5, "temperature": 0.5,
        "messages": [{"role": "user", "content": "Grüße, 世界 — \"quoted\" \\ and a tab\t"}]}
ANSWER = {"id": "x", "object": "chat.completion", "model": "gpt-4o-mini",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


class Recorder:
    """A loopback server that records requests and answers what `reply` says."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.reply: tuple[int, bytes, dict[str, str]] = (200, json.dumps(ANSWER).encode(), {})
        self.stall: str | None = None
        """"before headers": never answer; "mid-body": send the headers and half the body, then nothing."""
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append({"method": request.method, "path_qs": request.path_qs,
                          "headers": {k.lower(): v for k, v in request.headers.items()},
                          "body": await request.read()})
        if request.path.startswith("/old/"):  # moved: a gateway that redirects
            return web.Response(status=307, headers={"location": request.path_qs.replace("/old/", "/", 1)})
        if self.stall == "before headers":
            await self.release.wait()
        status, body, headers = self.reply
        if self.stall == "mid-body":
            stream = web.StreamResponse(status=status, headers={"content-type": "application/json"})
            stream.content_length = len(body)
            await stream.prepare(request)
            await stream.write(body[: len(body) // 2])
            await self.release.wait()
            return stream
        return web.Response(status=status, body=body, headers={"content-type": "application/json", **headers})


@pytest.fixture
async def recorder():
    rec = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec.base = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    try:
        yield rec
    finally:
        await runner.cleanup()


def project_for(tmp_path, provider: dict[str, Any], monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-123")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-456")
    spec = {"name": "lean", "model": "gpt-4o-mini", "provider": provider,
            "sources": [{"items": [{"n": 1}]}], "request": {"messages": [{"role": "user", "content": "{n}"}]}}
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(spec))
    return load_project(path)


def providers(base: str) -> dict[str, dict[str, Any]]:
    return {
        "openai": {"kind": "openai", "base_url": f"{base}/v1", "organization": "org-9", "project": "proj-9",
                   "headers": {"X-Team": "search"}},
        "azure": {"kind": "azure", "base_url": base, "api_version": "2024-10-21", "api_key_env": "AZURE_OPENAI_API_KEY"},
        "azure-deployment": {"kind": "azure", "base_url": base, "api_version": "2024-10-21", "deployment": "my-dep",
                             "api_key_env": "AZURE_OPENAI_API_KEY"},
        "compatible": {"kind": "compatible", "base_url": f"{base}/v1"},
        "simulator": {"kind": "simulator", "base_url": f"{base}/v1"},
    }


def comparable(seen: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in seen["headers"].items() if k not in VOLATILE_HEADERS}
    return {**seen, "headers": headers}


@pytest.mark.parametrize("kind", ["openai", "azure", "azure-deployment", "compatible", "simulator"])
async def test_both_paths_send_the_same_request(recorder, tmp_path, monkeypatch, kind):
    project = project_for(tmp_path, providers(recorder.base)[kind], monkeypatch)
    client = client_for(project)
    lean = sender_for(project, client, own_transport=True)
    assert isinstance(lean, LeanSender)
    try:
        for sender in (SdkSender(client), lean):
            reply = await sender.send("/v1/chat/completions", BODY, 10)
            assert (reply.status, reply.body) == (200, ANSWER)
    finally:
        await lean.close()
        await client.close()
    sdk_seen, lean_seen = (comparable(seen) for seen in recorder.seen)
    assert lean_seen["headers"].items() ^ sdk_seen["headers"].items() == set()
    assert lean_seen == sdk_seen
    assert sdk_seen["method"] == "POST" and sdk_seen["body"] == json.dumps(
        BODY, ensure_ascii=False, separators=(",", ":")).encode()
    credential = sdk_seen["headers"].get("authorization") or sdk_seen["headers"].get("api-key")
    assert credential in ("Bearer sk-test-key-123", "azure-key-456")


@pytest.mark.parametrize("status, body", [
    (429, b'{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}'),
    (400, b'{"error": {"message": "Unrecognized request argument supplied: max_token"}}'),
    (500, b"<html>oops</html>"),
    (200, b"{not json"),
    (200, b"[1, 2]"),
    (503, b"[]"),
])
async def test_both_paths_read_an_answer_the_same_way(recorder, tmp_path, monkeypatch, status, body):
    project = project_for(tmp_path, providers(recorder.base)["openai"], monkeypatch)
    recorder.reply = (status, body, {"retry-after-ms": "250", "x-ratelimit-remaining-requests": "7"})
    client = client_for(project)
    lean = LeanSender(client, connections=4)
    try:
        replies = [await sender.send("/v1/chat/completions", BODY, 10) for sender in (SdkSender(client), lean)]
    finally:
        await lean.close()
        await client.close()
    sdk, fast = replies
    assert (fast.status, fast.body, fast.failure, fast.message) == (sdk.status, sdk.body, sdk.failure, sdk.message)
    assert fast.headers["retry-after-ms"] == sdk.headers["retry-after-ms"] == "250"


async def test_no_server_is_a_connect_failure_on_both_paths(tmp_path, monkeypatch):
    project = project_for(tmp_path, {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}, monkeypatch)
    client = client_for(project)
    lean = LeanSender(client, connections=4)
    try:
        replies = [await sender.send("/v1/chat/completions", BODY, 5) for sender in (SdkSender(client), lean)]
    finally:
        await lean.close()
        await client.close()
    assert [r.failure for r in replies] == ["connect", "connect"]


@pytest.mark.parametrize("stall", ["before headers", "mid-body"])
async def test_an_answer_that_stalls_is_a_timeout(recorder, tmp_path, monkeypatch, stall):
    """The lean sender's one timer (aiohttp's total timeout) bounds the whole attempt, reading the body too."""
    project = project_for(tmp_path, providers(recorder.base)["openai"], monkeypatch)
    recorder.stall = stall
    client = client_for(project)
    lean = LeanSender(client, connections=4)
    try:
        reply = await asyncio.wait_for(lean.send("/v1/chat/completions", BODY, 0.2), 10)
    finally:
        recorder.release.set()
        await lean.close()
        await client.close()
    assert (reply.status, reply.failure) == (None, "timeout")


async def test_the_sdk_path_is_kept_where_the_lean_one_cannot_send_the_same(tmp_path, monkeypatch):
    in_process = project_for(tmp_path, {"kind": "simulator"}, monkeypatch)
    client = client_for(in_process)
    try:
        assert isinstance(sender_for(in_process, client, own_transport=True), SdkSender)
    finally:
        await client.close()
    networked = project_for(tmp_path, {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}, monkeypatch)
    client = client_for(networked)
    try:
        assert isinstance(sender_for(networked, client, own_transport=False), SdkSender)  # a transport handed in
        azure_ad = client.with_options()
        azure_ad._azure_ad_token_provider = lambda: "token"  # type: ignore[attr-defined]
        assert isinstance(sender_for(networked, azure_ad, own_transport=True), SdkSender)
        assert isinstance(sender_for(networked, client, own_transport=True), LeanSender)
        monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")  # the SDK's transport goes through it
        assert isinstance(sender_for(networked, client, own_transport=True), SdkSender)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert isinstance(sender_for(networked, client, own_transport=True), LeanSender)
    finally:
        await client.close()


async def test_a_run_says_which_path_it_sends_by(recorder, tmp_path, monkeypatch):
    from oaib_tui import events as ev
    from oaib_tui.job import JobRun

    project = project_for(tmp_path, providers(recorder.base)["compatible"], monkeypatch)
    started: list[ev.RunStarted] = []
    job = JobRun(project, consumers=[lambda e: started.append(e) if isinstance(e, ev.RunStarted) else None])
    try:
        finished = await asyncio.wait_for(job.run(), 30)
    finally:
        job.close()
    assert finished.exit_code == 0 and started[0].transport == "lean"
    assert len(recorder.seen) == 1


async def test_an_answer_keeps_its_text_unless_it_is_not_utf8(recorder, tmp_path, monkeypatch):
    from oaib_tui.events import JsonText

    project = project_for(tmp_path, providers(recorder.base)["openai"], monkeypatch)
    client = client_for(project)
    lean = LeanSender(client, connections=2)
    try:
        plain = await lean.send("/v1/chat/completions", BODY, 10)
        recorder.reply = (200, json.dumps(ANSWER).encode("utf-16"), {})
        wide = await lean.send("/v1/chat/completions", BODY, 10)
    finally:
        await lean.close()
        await client.close()
    assert type(plain.body) is JsonText and json.loads(plain.body.text) == ANSWER
    assert wide.body == ANSWER and type(wide.body) is dict


async def test_a_redirected_request_is_followed_as_the_sdk_follows_it(recorder, tmp_path, monkeypatch):
    project = project_for(tmp_path, {"kind": "compatible", "base_url": f"{recorder.base}/old/v1"}, monkeypatch)
    client = client_for(project)
    lean = LeanSender(client, connections=2)
    try:
        reply = await lean.send("/v1/chat/completions", BODY, 10)
    finally:
        await lean.close()
        await client.close()
    assert (reply.status, reply.body) == (200, ANSWER)
    assert [seen["path_qs"] for seen in recorder.seen] == [
        "/old/v1/chat/completions", "/old/v1/chat/completions", "/v1/chat/completions"]  # lean, then the SDK's way
    assert all(seen["method"] == "POST" and json.loads(seen["body"]) == BODY for seen in recorder.seen)
