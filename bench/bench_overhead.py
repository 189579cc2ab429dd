"""Benchmark: the engine's CPU time per 1,000 requests, against a bare loop of the official SDK.

    python bench/bench_overhead.py                       # 3 rounds × 3,000 requests per contender
    python bench/bench_overhead.py --rounds 1 --requests 500
    python bench/bench_overhead.py --profile         # also: where the engine's time goes

A zero-latency simulator with no useful limits runs in its own process on
127.0.0.1; only this process's CPU time is measured (`time.process_time()`
around each run, which counts every thread of this process and nothing of the
simulator's). The contenders send the same request bodies at the same
concurrency, interleaved round by round:

- `engine`: the real thing, `JobRun` on a project file (mode auto, its SQLite
  state file in a fresh temp folder, one commit per answer), SDK on aiohttp;
- `sdk-aiohttp`: AsyncOpenAI on `DefaultAioHttpClient`, a semaphore, and
  `client.chat.completions.create(**body)` per request (the target's baseline);
- `sdk-httpx2`: the same over the SDK's default httpx2 transport;
- `raw-aiohttp`: aiohttp alone, `session.post(json=body)` and `response.json()`.

A small warm-up run of each (tokenizer load, lazy imports, first connections)
comes first and is not counted. Target: engine ≤ 1.25 × sdk-aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common

TARGET_RATIO = 1.25
UNLIMITED = {"rpm": 100_000_000, "tpm": 10_000_000_000, "latency_ms": 0, "bucket_s": 60}


async def _sdk_loop(client, bodies: list[dict[str, Any]], concurrency: int) -> int:
    gate = asyncio.Semaphore(concurrency)

    async def one(body: dict[str, Any]) -> bool:
        async with gate:
            completion = await client.chat.completions.create(**body)
            return bool(completion.choices)

    try:
        return sum(await asyncio.gather(*(one(body) for body in bodies)))
    finally:
        await client.close()


def run_sdk(base_url: str, bodies: list[dict[str, Any]], concurrency: int, transport: str) -> int:
    import openai

    async def main() -> int:
        http_client = openai.DefaultAioHttpClient() if transport == "aiohttp" else None
        client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0, http_client=http_client)
        return await _sdk_loop(client, bodies, concurrency)

    return asyncio.run(main())


def run_raw_aiohttp(base_url: str, bodies: list[dict[str, Any]], concurrency: int) -> int:
    import aiohttp

    async def main() -> int:
        gate = asyncio.Semaphore(concurrency)
        url = f"{base_url}/chat/completions"
        headers = {"Authorization": "Bearer sk-bench"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            async def one(body: dict[str, Any]) -> bool:
                async with gate, session.post(url, json=body, headers=headers) as answer:
                    data = await answer.json()
                    return answer.status == 200 and bool(data.get("choices"))

            return sum(await asyncio.gather(*(one(body) for body in bodies)))

    return asyncio.run(main())


def run_engine(project_path: Path) -> int:
    from oaib_tui.job import JobRun
    from oaib_tui.project import load_project

    job = JobRun(load_project(project_path))
    try:
        finished = asyncio.run(job.run())
    finally:
        job.close()
    return finished.done


class Workload:
    """One source of records, its project file, and the bodies the engine renders from it."""

    def __init__(self, folder: Path, base_url: str, requests: int, concurrency: int) -> None:
        from oaib_tui.project import RequestPlan, load_project

        self.folder, self.base_url, self.concurrency = folder, base_url, concurrency
        common.write_products(folder / "products.jsonl", requests)
        limits = {"concurrency": concurrency, "timeout_s": 30, "max_retries": 0}
        self.template = common.write_project(folder, base_url=base_url, limits=limits)
        self.bodies = [request.body for request in RequestPlan(load_project(self.template))]
        self.runs = 0

    def engine_project(self) -> Path:
        """A copy of the project in a fresh folder, so that every run starts a new state file."""
        self.runs += 1
        run_dir = self.folder / f"engine-{self.runs}"
        run_dir.mkdir()
        (run_dir / "products.jsonl").symlink_to(self.folder / "products.jsonl")
        target = run_dir / self.template.name
        target.write_text(self.template.read_text())
        return target

    def contenders(self, count: int | None = None) -> dict[str, Callable[[], int]]:
        bodies = self.bodies[:count] if count else self.bodies
        url, n = self.base_url, self.concurrency
        return {
            "engine": lambda: run_engine(self._engine_project_for(count)),
            "sdk-aiohttp": lambda: run_sdk(url, bodies, n, "aiohttp"),
            "sdk-httpx2": lambda: run_sdk(url, bodies, n, "httpx2"),
            "raw-aiohttp": lambda: run_raw_aiohttp(url, bodies, n),
        }

    def _engine_project_for(self, count: int | None) -> Path:
        path = self.engine_project()
        if count:
            source = path.parent / "products.jsonl"
            lines = (self.folder / "products.jsonl").read_text().splitlines(keepends=True)[:count]
            source.unlink()
            source.write_text("".join(lines))
        return path


def measure(work: Callable[[], int]) -> tuple[float, float, int]:
    """(CPU seconds of this process, wall seconds, requests answered) of one run."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    answered = work()
    return time.process_time() - cpu, time.perf_counter() - wall, answered


def run_rounds(workload: Workload, rounds: int, requests: int, warmup: int) -> dict[str, list[dict[str, float]]]:
    for name, work in workload.contenders(warmup).items():
        cpu, wall, answered = measure(work)
        print(f"  warm-up {name:<12} {answered:>6,} answered  cpu {cpu:6.2f} s  wall {wall:6.2f} s", flush=True)
    samples: dict[str, list[dict[str, float]]] = {}
    for round_no in range(1, rounds + 1):
        for name, work in workload.contenders().items():
            cpu, wall, answered = measure(work)
            if answered != requests:
                raise RuntimeError(f"{name}: {answered} of {requests} requests answered")
            samples.setdefault(name, []).append({"cpu_s": cpu, "wall_s": wall})
            print(f"  round {round_no} {name:<12} cpu {cpu:6.2f} s  wall {wall:6.2f} s"
                  f"  = {cpu / requests * 1000:5.3f} CPU s per 1,000", flush=True)
    return samples


def summarise(samples: dict[str, list[dict[str, float]]], requests: int) -> dict[str, dict[str, Any]]:
    per_1000 = {name: statistics.median(s["cpu_s"] for s in runs) / requests * 1000 for name, runs in samples.items()}
    baseline = per_1000["sdk-aiohttp"]
    return {
        name: {
            "cpu_s_per_1000_median": round(value, 4),
            "cpu_s_per_1000_all": [round(s["cpu_s"] / requests * 1000, 4) for s in samples[name]],
            "wall_s_per_1000_median": round(statistics.median(s["wall_s"] for s in samples[name]) / requests * 1000, 4),
            "ratio_to_sdk_aiohttp": round(value / baseline, 3),
        }
        for name, value in per_1000.items()
    }


PROFILE_PARTS = {
    "SDK request + transport (engine/client.py send)": ("oaib_tui/engine/client.py", "send"),
    "state store (StateStore.handle)": ("oaib_tui/state/store.py", "handle"),
    "rate limiter: answers (observe)": ("oaib_tui/engine/ratelimit.py", "observe"),
    "rate limiter: grants (try_acquire)": ("oaib_tui/engine/ratelimit.py", "try_acquire"),
    "records → requests, tokens (ItemFeed.items)": ("oaib_tui/engine/feed.py", "items"),
    "answer bookkeeping (_succeeded)": ("oaib_tui/engine/runner.py", "_succeeded"),
}


def profile_engine(workload: Workload) -> dict[str, float | None]:
    """One engine run under cProfile: the share of its time in each part (profiling inflates every share alike)."""
    import cProfile
    import pstats

    project = workload.engine_project()
    profiler = cProfile.Profile()
    profiler.runcall(run_engine, project)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(ct for _, _, _, ct, _ in stats.values())
    shares = {}
    for label, (path, function) in PROFILE_PARTS.items():
        found = [ct for (file, _, name), (_, _, _, ct, _) in stats.items() if file.endswith(path) and name == function]
        shares[label] = round(sum(found) / total, 3) if found else None  # None: the code moved, update PROFILE_PARTS
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (the median is reported)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=300, help="requests of the uncounted warm-up run")
    parser.add_argument("--profile", action="store_true", help="also profile one engine run and show where its time goes")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write bench/results/overhead.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oaib-bench-overhead-") as folder, common.simulator(**UNLIMITED) as sim:
        workload = Workload(Path(folder), sim.base_url, args.requests, args.concurrency)
        print(f"{args.rounds} rounds × {args.requests:,} requests, concurrency {args.concurrency}, simulator {sim.base_url}")
        samples = run_rounds(workload, args.rounds, args.requests, args.warmup)
        sim_stats = sim.stats()
        profile = profile_engine(workload) if args.profile else None
    figures = summarise(samples, args.requests)
    rows = [(name, f["cpu_s_per_1000_median"], f["ratio_to_sdk_aiohttp"], f["wall_s_per_1000_median"],
             " ".join(f"{v:.3f}" for v in f["cpu_s_per_1000_all"])) for name, f in figures.items()]
    common.print_table(["client", "CPU s / 1,000 (median)", "× sdk-aiohttp", "wall s / 1,000", "all rounds"], rows,
                       title="Client CPU time per 1,000 requests (zero-latency simulator in its own process)")
    if profile:
        common.print_table(["part of the engine", "share of its time"], list(profile.items()),
                           title="Where the engine's time goes (one run under cProfile)")
    ratio = figures["engine"]["ratio_to_sdk_aiohttp"]
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"\nengine / sdk-aiohttp = {ratio:.3f} (target ≤ {TARGET_RATIO}): {verdict}")
    if not args.no_save:
        path = common.save_results("overhead", {
            "settings": {"requests": args.requests, "rounds": args.rounds, "concurrency": args.concurrency,
                         "warmup_requests": args.warmup, "simulator": UNLIMITED,
                         "request_template": common.PRODUCT_REQUEST},
            "contenders": figures,
            "target_ratio": TARGET_RATIO,
            "engine_ratio": ratio,
            "passed": ratio <= TARGET_RATIO,
            "engine_profile_shares": profile,
            "simulator_stats": sim_stats,
        })
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
