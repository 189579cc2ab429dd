"""Benchmark of `mode: hybrid`: a job's cost and finish time against all-standard and all-batch, on the simulator.

    python bench/bench_hybrid.py                    # 200 requests, a 45 s deadline (about 2 minutes)
    python bench/bench_hybrid.py --requests 100 --deadline-s 30 --time-scale 150

The simulator runs in this process on a fast clock for its Batch API
(`time_scale`): a batch waits `batch_queue_s` simulated seconds in the queue
(30 real seconds at the defaults), then works through its requests slowly, so
that all-batch ends after the deadline. The same job runs three times on a fresh
simulator and state file each:

- standard: `mode: auto`, every request realtime at standard prices;
- flex: `mode: auto` with `service_tier: flex`: realtime at batch prices, slower answers;
- batch: `mode: batch`, every request through the Batch API at batch prices;
- hybrid: `mode: hybrid` with the deadline: the batches first, then the rest
  moved to flex (or standard) when the forecast says the batches will not make it;
- hybrid without flex (`hybrid.flex: false`): the rest goes to standard.

The model (default gpt-5-mini) must be sold at flex for the flex lane to be used.

Figures: seconds from the start to the run's end, whether the deadline was met,
the cost from the state file, the answers each lane gave (the simulator's own
counts: realtime answers and batch lines completed) and duplicate answers.
Results go to bench/results/hybrid.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table, save_results

from oaib_tui import events as ev
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim import create_app
from oaib_tui.sim.client import simulator_http_client


def project_spec(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": f"hybrid-bench-{mode}",
        "model": args.model,
        "mode": "hybrid" if mode.startswith("hybrid") else "auto" if mode in ("standard", "flex") else mode,
        "provider": {"kind": "simulator"},
        "limits": {"max_retries": 2, "concurrency": 50},
        "batch": {"poll_s": 1},
        "sources": [{"items": [{"n": i, "word": f"w{i}"} for i in range(args.requests)], "id": "item-{n}"}],
        "request": {"max_completion_tokens": 20, "messages": [{"role": "user", "content": "Say {word}"}]},
    }
    if mode == "flex":
        spec["request"]["service_tier"] = "flex"
    if mode.startswith("hybrid"):
        spec["deadline"] = f"{args.deadline_s}s"
        spec["hybrid"] = {"flex": mode == "hybrid", "flex_latency_s": args.flex_latency_s, "check_s": 1,
                          "cancel_wait_s": 5, "batch_min_s": 5, "margin": 0.2}
    return spec


def simulator_settings(args: argparse.Namespace) -> SimulatorSettings:
    scale = args.time_scale
    return SimulatorSettings(rpm=600, tpm=100_000, latency_ms=300, flex_latency_ms=args.flex_latency_s * 1000,
                             seed=1, time_scale=scale,
                             batch_validation_s=0.5 * scale, batch_queue_s=args.queue_s * scale,
                             batch_lines_per_s=args.batch_rate / scale, batch_finalizing_s=0.5 * scale)


async def run_one(mode: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    path = folder / mode / "project.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(project_spec(mode, args), sort_keys=False))
    app = create_app(simulator_settings(args))
    tiers: Counter[str] = Counter()

    def count_tier(event: ev.Event) -> None:
        if isinstance(event, ev.RequestSucceeded):
            tiers[event.tier or "standard"] += 1

    job = JobRun(load_project(path), http_client=simulator_http_client(app), consumers=[count_tier])
    started = time.monotonic()
    try:
        finished = await asyncio.wait_for(job.run(), args.timeout_s)
        elapsed = time.monotonic() - started
        totals = job.store.totals()
        accounting = job.accounting
    finally:
        job.close()
    batch_lines = sum(batch.completed for batch in app.batch_api.book.all())
    return {
        "mode": mode, "seconds": round(elapsed, 1), "done": finished.done, "failed": finished.failed,
        "deadline_met": elapsed <= args.deadline_s,
        "cost_usd": round(totals.cost_usd, 7), "run_cost_usd": round(finished.cost_usd, 7),
        "realtime_answers": app.stats.answered, "flex_answers": tiers["flex"], "batch_answers": batch_lines,
        "duplicates": accounting.duplicates if accounting else None,
    }


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for mode in ("standard", "flex", "batch", "hybrid", "hybrid-no-flex"):
            rows.append(await run_one(mode, args, Path(folder)))
            print(f"{mode}: {rows[-1]}", file=sys.stderr)
    return rows


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--model", default="gpt-5-mini", help="a model sold at flex, standard and batch prices")
    parser.add_argument("--flex-latency-s", type=float, default=3.0, help="seconds a flex answer takes")
    parser.add_argument("--deadline-s", type=float, default=45.0, help="the hybrid job's deadline, real seconds")
    parser.add_argument("--time-scale", type=float, default=100.0, help="the simulator's Batch API clock speed")
    parser.add_argument("--queue-s", type=float, default=30.0, help="real seconds a batch waits before it runs")
    parser.add_argument("--batch-rate", type=float, default=10.0, help="requests per real second a batch answers")
    parser.add_argument("--timeout-s", type=float, default=300.0)
    parser.add_argument("--no-save", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    results = asyncio.run(main(arguments))
    print_table(["mode", "seconds", "deadline met", "cost $", "realtime answers", "of them flex", "batch answers",
                 "duplicates"],
                [[r["mode"], r["seconds"], r["deadline_met"], f"{r['cost_usd']:.6f}", r["realtime_answers"],
                  r["flex_answers"], r["batch_answers"], r["duplicates"]] for r in results],
                title=f"{arguments.requests} requests of {arguments.model}; deadline {arguments.deadline_s:.0f} s; a batch waits "
                      f"{arguments.queue_s:.0f} s, then answers {arguments.batch_rate:.0f}/s")
    if not arguments.no_save:
        settings = {key: getattr(arguments, key) for key in ("requests", "model", "deadline_s", "time_scale",
                                                              "queue_s", "batch_rate", "flex_latency_s")}
        print(save_results("hybrid", {"settings": settings, "runs": results}))
