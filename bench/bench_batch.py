"""Benchmark of batch mode at scale: splitting, writing and uploading 1,000,000 requests, then reading 1,000,000 results back.

    python bench/bench_batch.py                      # 1,000,000 requests (a few minutes)
    python bench/bench_batch.py --requests 100000    # a quicker look

The simulator runs in its own process, with batches that never leave `validating`,
so its work never counts as the client's. Each phase runs in a child process of
its own, whose peak RSS is read from the kernel when it ends (os.wait4).

1. upload: `oaib-tui` in batch mode streams the JSONL source into part files of
   50,000 requests, records every item in the state file, uploads each part and
   creates its batch; the child stops once every part's batch exists. Figures:
   wall time and lines per second end to end, and lines per second of each stage
   of the writer on its own: rendering the records (the project's templates),
   file building (serializing each line, counting its tokens, splitting, writing
   it) and recording each item in the state file (its RequestQueued).
2. download: each batch is given a completed output file of realistic chat answers
   (made here and uploaded to the simulator); the same command then resumes, finds
   every batch ended, downloads the files and maps each line back into the state
   file. Figure: seconds from the run's start to the last batch downloaded.

Results go to bench/results/batch.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    HOST,
    Simulator,
    free_port,
    print_table,
    save_results,
    stop_process,
    wait_with_rusage,
    write_products,
    write_project,
)

TIMEOUT_S = 1800
UPLOAD_RSS_LIMIT_MB = 300
BUILD_RATE_TARGET = 50_000
DOWNLOAD_LIMIT_S = 60


# -- the children ----------------------------------------------------------------------------

def child_upload(project_path: Path) -> dict:
    """Run the project until every part's batch is created; return the timings of each stage."""
    from oaib_tui import events as ev
    from oaib_tui.batch.feed import PartFeeder
    from oaib_tui.job import JobRun
    from oaib_tui.project import RequestPlan, load_project

    spent = {"rendering": 0.0, "writing": 0.0, "recording": 0.0}
    created: list[float] = []
    timed(RequestPlan, "prepare", spent, "rendering")
    timed(PartFeeder, "_write_request", spent, "writing")

    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.BatchCreated):
            created.append(time.perf_counter())

    job = JobRun(load_project(project_path), consumers=[on_event])
    emit = job.emit

    def timed_emit(event: ev.Event) -> None:
        began = time.perf_counter()
        emit(event)
        if isinstance(event, ev.RequestQueued):
            spent["recording"] += time.perf_counter() - began

    job.emit = timed_emit  # type: ignore[method-assign]

    async def run() -> None:
        task = asyncio.ensure_future(job.run())
        while not task.done():
            engine = job.engine
            if engine is not None and engine.feeder.exhausted and len(created) == len(engine.rounds):
                engine.stop("interrupted", "benchmark: every batch is created")
            await asyncio.sleep(0.05)
        await task

    started = time.perf_counter()
    asyncio.run(run())
    job.close()
    return {"seconds": created[-1] - started, "parts": len(created), "rendering_s": spent["rendering"],
            "building_s": spent["writing"] - spent["recording"], "recording_s": spent["recording"]}


def timed(owner: type, name: str, spent: dict[str, float], key: str) -> None:
    """Add the time every call of `owner.name` takes to `spent[key]`."""
    method = getattr(owner, name)

    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - began

    setattr(owner, name, wrapper)


def child_download(project_path: Path) -> dict:
    """Resume the project (every batch has ended) until all results are in the state file."""
    from oaib_tui import events as ev
    from oaib_tui.job import JobRun
    from oaib_tui.project import load_project

    downloaded: list[float] = []

    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.BatchDownloaded):
            downloaded.append(time.perf_counter())

    job = JobRun(load_project(project_path), consumers=[on_event])
    started = time.perf_counter()
    finished = asyncio.run(job.run())
    counts = job.store.counts()
    job.close()
    return {"seconds": downloaded[-1] - started, "whole_run_s": time.perf_counter() - started,
            "done": counts["done"], "state": finished.state}


# -- the parent ------------------------------------------------------------------------------

def start_simulator() -> tuple[subprocess.Popen, Simulator]:
    port = free_port()
    code = ("from oaib_tui.project.schema import SimulatorSettings; from oaib_tui.sim.server import serve; "
            f"serve(SimulatorSettings(latency_ms=0, batch_validation_s=1e9), host='{HOST}', port={port}, "
            "announce=lambda _: None)")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sim = Simulator(process, port)
    sim.wait_until_up()
    return process, sim


def run_child(phase: str, project: Path) -> tuple[dict, float]:
    """One phase in a child process: its figures (with the CPU seconds it used in all), and its peak RSS in MB."""
    child = subprocess.Popen([sys.executable, __file__, f"--child-{phase}", str(project)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    code, usage = wait_with_rusage(child, TIMEOUT_S)
    out, err = child.stdout.read(), child.stderr.read()  # type: ignore[union-attr]
    if code != 0:
        raise RuntimeError(f"the {phase} child failed ({code}):\n{err[-3000:]}")
    figures = json.loads(out.strip().splitlines()[-1])
    figures["cpu_s"] = usage.ru_utime + usage.ru_stime
    return figures, usage.ru_maxrss / 1024


def answer_line(custom_id: str, n: int) -> str:
    """A completed chat answer as the Batch API's output file holds it (about 600 bytes)."""
    body = {
        "id": f"chatcmpl-bench{n:010d}", "object": "chat.completion", "created": 1_750_000_000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "A sturdy pick for everyday use, "
                                                                           "light to carry and easy to clean.",
                                             "refusal": None, "annotations": []},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 24, "completion_tokens": 16, "total_tokens": 40,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}},
        "service_tier": "default", "system_fingerprint": "fp_bench",
    }
    line = {"id": f"batch_req_{n:010d}", "custom_id": custom_id,
            "response": {"status_code": 200, "request_id": f"req_{n:010d}", "body": body}, "error": None}
    return json.dumps(line, separators=(",", ":"))


def end_every_batch(state_path: Path, base_url: str) -> int:
    """Give each part an uploaded output file answering all its items, and record its batch as completed."""
    import openai

    client = openai.OpenAI(api_key="sk-bench", base_url=base_url, max_retries=0, timeout=600)
    conn = sqlite3.connect(state_path)
    lines = 0
    for (part,) in conn.execute("SELECT part FROM batches ORDER BY part").fetchall():
        ids = [row[0] for row in conn.execute("SELECT custom_id FROM items WHERE batch = ? ORDER BY seq", (part,))]
        answers = [answer_line(custom_id, lines + i) for i, custom_id in enumerate(ids)]
        random.Random(part).shuffle(answers)  # the real API writes lines in the order they finish
        content = "\n".join(answers) + "\n"
        uploaded = client.files.create(file=(f"out-{part}.jsonl", content.encode()), purpose="user_data")
        conn.execute("UPDATE batches SET phase = 'ended', status = 'completed', output_file_id = ?, ended_at = ?"
                     " WHERE part = ?", (uploaded.id, time.time(), part))
        conn.commit()
        lines += len(ids)
    conn.close()
    client.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, help="where to put the files (default: a temporary folder)")
    parser.add_argument("--child-upload", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-download", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_upload:
        print(json.dumps(child_upload(args.child_upload)))
        return
    if args.child_download:
        print(json.dumps(child_download(args.child_download)))
        return
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        bench(Path(folder), args.requests)


def bench(folder: Path, requests: int) -> None:
    load_before = [round(x, 2) for x in os.getloadavg()]  # other work on the machine slows every figure
    began = time.perf_counter()
    write_products(folder / "products.jsonl", requests)
    print(f"source: {requests:,} records written in {time.perf_counter() - began:.1f} s")
    process, sim = start_simulator()
    try:
        project = write_project(folder, base_url=sim.base_url, mode="batch", batch={"poll_s": 1, "clean_up": False})
        upload, upload_rss = run_child("upload", project)
        lines = end_every_batch(folder / "out" / "bench.state.db", sim.base_url)
        download, download_rss = run_child("download", project)
    finally:
        stop_process(process)
    figures = {
        "requests": requests,
        "upload": {"parts": upload["parts"], "seconds": round(upload["seconds"], 2),
                   "lines_per_s": round(requests / upload["seconds"]),
                   **{f"{stage}_lines_per_s": round(requests / upload[f"{stage}_s"])
                      for stage in ("building", "rendering", "recording")},
                   "process_cpu_s": round(upload["cpu_s"], 1), "peak_rss_mb": round(upload_rss, 1)},
        "download": {"lines": lines, "seconds": round(download["seconds"], 2),
                     "lines_per_s": round(lines / download["seconds"]), "whole_run_s": round(download["whole_run_s"], 2),
                     "done": download["done"], "process_cpu_s": round(download["cpu_s"], 1),
                     "peak_rss_mb": round(download_rss, 1)},
        "load_average_before": load_before,
        "targets": {"upload_peak_rss_mb_below": UPLOAD_RSS_LIMIT_MB, "building_lines_per_s_at_least": BUILD_RATE_TARGET,
                    "download_s_below": DOWNLOAD_LIMIT_S},
    }
    print_table(["phase", "lines", "seconds", "lines/s", "peak RSS MB"], [
        ["split, write, upload", requests, upload["seconds"], requests / upload["seconds"], upload_rss],
        *[[f"  {label}", requests, upload[f"{stage}_s"], requests / upload[f"{stage}_s"], None] for stage, label in (
            ("rendering", "rendering from the sources"), ("building", "file building (serialize, count, split, write)"),
            ("recording", "recording items in the state file"))],
        ["download and map", lines, download["seconds"], lines / download["seconds"], download_rss],
    ], title=f"batch mode, {requests:,} requests in {upload['parts']} parts")
    print(f"\nwrote {save_results('batch', figures)}")


if __name__ == "__main__":
    main()
