"""The yardstick of bench_throughput: a bare aiohttp loop sending a product source's requests.

    python bench/raw_aiohttp.py BASE_URL SOURCE.jsonl CONCURRENCY [RPM BURST]

What anyone would write by hand: read the JSONL source, render each record
into the same chat request the benchmark's project sends, POST it with
`session.post(json=body)` under a semaphore, read `response.json()`. No state
file, no limiter, no retries, no token counts, no output files. It imports
nothing of oaib_tui, so that its start-up is aiohttp's alone. Prints how many
requests were answered 200 with choices.

With RPM and BURST it paces itself the way a server's bucket admits requests
(BURST at once, then RPM/60 a second), sleeping between requests: the same
pattern the engine sends in against a server with those limits.
"""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp

MODEL = "gpt-4o-mini"
MAX_TOKENS = 20
PROMPT = "One line for the {title} ({category}), for {audience}."  # common.PRODUCT_REQUEST's


def bodies(source: str) -> list[dict]:
    with open(source, encoding="utf-8") as lines:
        return [{"model": MODEL, "max_tokens": MAX_TOKENS,
                 "messages": [{"role": "user", "content": PROMPT.format(**json.loads(line))}]}
                for line in lines if line.strip()]


async def send_all(base_url: str, requests: list[dict], concurrency: int,
                   rpm: float | None = None, burst: int = 0) -> int:
    url = f"{base_url}/chat/completions"
    headers = {"Authorization": "Bearer sk-bench"}
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def one(body: dict) -> bool:
            async with gate, session.post(url, json=body, headers=headers) as answer:
                data = await answer.json()
                return answer.status == 200 and bool(data.get("choices"))

        if rpm is None:
            return sum(await asyncio.gather(*(one(body) for body in requests)))
        return sum(await asyncio.gather(*await paced(requests, one, rpm, burst)))


async def paced(requests: list[dict], one, rpm: float, burst: int) -> list[asyncio.Task]:
    """Start request n once a bucket of `burst` refilling at rpm/60 a second has admitted it."""
    loop = asyncio.get_running_loop()
    start, tasks = loop.time(), []
    for n, body in enumerate(requests):
        due = start + max(0, n + 1 - burst) * 60.0 / rpm
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        tasks.append(asyncio.create_task(one(body)))
    return tasks


def main() -> None:
    base_url, source, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rpm, burst = (float(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 5 else (None, 0)
    print(asyncio.run(send_all(base_url, bodies(source), concurrency, rpm, burst)))


if __name__ == "__main__":
    main()
