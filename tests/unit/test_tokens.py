"""Token counts: exact against the shared tiktoken files, estimated (never hanging) without them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import tiktoken

from oaib_tui import tokens


def test_chat_prompt_tokens_follow_the_cookbook_formula():
    enc = tiktoken.get_encoding("o200k_base")
    messages = [
        {"role": "system", "content": "You write one-line product summaries."},
        {"role": "user", "content": "Summarize: Red kettle\n1.7 litres, steel", "name": "alice"},
    ]
    expected = 3  # reply priming
    for message in messages:
        expected += 3 + sum(len(enc.encode(v)) for v in message.values())
    expected += 1  # the name
    assert tokens.prompt_tokens("/v1/chat/completions", {"messages": messages}, "gpt-4o-mini") == expected


def test_each_endpoint_counts_its_own_input_field():
    enc = tiktoken.get_encoding("cl100k_base")
    text = "The quick brown fox jumps over the lazy dog."
    n = len(enc.encode(text))
    assert tokens.prompt_tokens("/v1/embeddings", {"input": text}, "text-embedding-3-small") == n
    assert tokens.prompt_tokens("/v1/embeddings", {"input": [text, text]}, "text-embedding-3-small") == 2 * n
    assert tokens.prompt_tokens("/v1/embeddings", {"input": [1, 2, 3]}, "text-embedding-3-small") == 3
    assert tokens.prompt_tokens("/v1/completions", {"prompt": text}, "gpt-3.5-turbo-instruct") == n
    o200k = len(tiktoken.get_encoding("o200k_base").encode(text))
    assert tokens.prompt_tokens("/v1/responses", {"input": text, "instructions": text}, "gpt-4.1") == 2 * o200k


def test_encodings_by_model():
    assert tokens.encoding_name_for("gpt-4o-mini-2024-07-18") == "o200k_base"
    assert tokens.encoding_name_for("gpt-5-nano") == "o200k_base"
    assert tokens.encoding_name_for("text-embedding-3-large") == "cl100k_base"
    assert tokens.encoding_name_for("gpt-4-turbo") == "cl100k_base"
    assert tokens.encoding_name_for("some-local-llama") == "o200k_base"


def test_max_output_tokens_reads_every_spelling_and_multiplies_by_n():
    assert tokens.max_output_tokens("/v1/chat/completions", {"max_tokens": 50}, 1024) == 50
    assert tokens.max_output_tokens("/v1/chat/completions", {"max_completion_tokens": 70, "n": 2}, 1024) == 140
    assert tokens.max_output_tokens("/v1/responses", {"max_output_tokens": 30}, 1024) == 30
    assert tokens.max_output_tokens("/v1/chat/completions", {}, 1024) == 1024
    assert tokens.max_output_tokens("/v1/embeddings", {"max_tokens": 50}, 1024) == 0


def _count_in_subprocess(tmp_path, patch: str) -> dict:
    code = f"""
import json, time, tiktoken.load
{patch}
from oaib_tui import tokens
start = time.monotonic()
n = tokens.prompt_tokens("/v1/embeddings", {{"input": "abcdefghij" * 4}}, "gpt-4o")
n2 = tokens.prompt_tokens("/v1/embeddings", {{"input": "abcd"}}, "gpt-4o")
print(json.dumps({{"n": n, "n2": n2, "s": time.monotonic() - start, "notice": tokens.estimation_notice()}}))
"""
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path), "OAIB_TUI_TOKENIZER_TIMEOUT": "1.5"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return {"stderr": done.stderr, **json.loads(done.stdout)}


def test_without_the_encoding_counts_are_estimated_and_said_once(tmp_path):
    result = _count_in_subprocess(tmp_path, "def fail(*a, **k): raise OSError('no network')\ntiktoken.load.read_file = fail")
    assert (result["n"], result["n2"]) == (10, 1)  # 40 and 4 characters at ~4 a token
    assert "estimated" in result["notice"] and "TIKTOKEN_CACHE_DIR" in result["notice"]
    assert result["stderr"] == ""  # said once by whoever shows notices, never logged on the side


def test_a_download_that_hangs_does_not_hang_the_count(tmp_path):
    result = _count_in_subprocess(tmp_path, "tiktoken.load.read_file = lambda *a, **k: time.sleep(600)")
    assert result["n"] == 10
    assert result["s"] < 10
