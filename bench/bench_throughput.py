"""Benchmark: whole-process CPU per request of `oaib-tui PROJECT --no-ui`, against a bare aiohttp loop.

    python bench/bench_throughput.py                      # 3 pairs × 20,000 requests, 2 rate-limited runs (~5 min)
    python bench/bench_throughput.py --requests 2000 --pairs 1 --limited-runs 0 --no-save

Unlimited: a zero-latency simulator with limits too high to matter
(`oaib-tui sim --latency-ms 0 --rpm 100000000 --tpm 10000000000`, its own
process on 127.0.0.1, pinned to CPU 1) answers, in turn, pair by pair:

- `engine`: `oaib-tui PROJECT --no-ui` as a subprocess (pinned to CPU 0): mode
  `realtime` with the simulator's own limits, concurrency 50, its state file and
  output files in a fresh folder each run;
- `raw-aiohttp`: `bench/raw_aiohttp.py` (pinned to CPU 0), the same requests
  from the same source at the same concurrency, and nothing else.

Each process's CPU time (user + system) is its own `wait4` accounting: the whole
process, start-up and output files included. The ratio is taken pair by pair
(the order alternates: engine first, then raw first), and the median quoted.
Throughput is the engine's requests per second over its run (first request
sent to last answer, from the state file) and over its whole process.

Rate-limited: 1,200 requests against `--rpm 600 --tpm 100000 --latency-ms 300
--bucket-s 60` (a fresh simulator per run, buckets full; the project says the
same limits), beside an unlimited run of the same 1,200 requests: CPU per
request of each. A limiter or a 429 pause that spun instead of sleeping would
show here. The raw loop runs the same two ways (paced to the same limits, and
unlimited): its own paced/unlimited ratio is the control, what waking up for
each request costs any client on this machine.

Targets: engine ≤ 1.5 × raw aiohttp CPU per request; ≥ 1,000 requests/s; the
rate-limited run ≤ 1.5 × the CPU per request of the unlimited one.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common

TARGET_CPU_RATIO = 1.5
TARGET_REQUESTS_PER_S = 1000
TARGET_LIMITED_RATIO = 1.5
UNLIMITED = {"rpm": 100_000_000, "tpm": 10_000_000_000, "latency_ms": 0, "bucket_s": 60}
LIMITED = {"rpm": 600, "tpm": 100_000, "latency_ms": 300, "bucket_s": 60}
RAW_CLIENT = Path(__file__).resolve().parent / "raw_aiohttp.py"
CLIENT_CPU, SERVER_CPU = 0, 1


def pinned(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def process_cpu_s(pid: int) -> float:
    """User + system seconds a live process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Contender:
    """One measured process: its command, and how to read what it did."""

    def __init__(self, args: argparse.Namespace, folder: Path, sim: common.Simulator) -> None:
        self.args, self.folder, self.sim = args, folder, sim
        self.runs = 0

    def measure(self, name: str, command: list[str], read: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        self.runs += 1
        log = self.folder / f"{name}-{self.runs}.log"
        server_before, load_before = process_cpu_s(self.sim.process.pid), os.getloadavg()[0]
        with open(log, "w") as out:
            started = time.perf_counter()
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       preexec_fn=pinned(self.args.client_cpu))
            code, usage = common.wait_with_rusage(process, self.args.case_timeout)
            wall = time.perf_counter() - started
        if code != 0:
            raise RuntimeError(f"{name} exited with {code}; see {log}:\n{log.read_text()[-2000:]}")
        server = process_cpu_s(self.sim.process.pid) - server_before
        figures = {"cpu_s": usage.ru_utime + usage.ru_stime, "user_s": usage.ru_utime, "sys_s": usage.ru_stime,
                   "wall_s": wall, "server_cpu_s": server, "server_busy": server / wall,
                   "load_1min_before": load_before, **read(log)}
        return figures


def engine_project(folder: Path, source: Path, base_url: str, limits: dict[str, Any], tag: str) -> Path:
    run_dir = folder / tag
    run_dir.mkdir()
    (run_dir / "products.jsonl").symlink_to(source)
    return common.write_project(run_dir, base_url=base_url, mode="realtime",
                                limits={"concurrency": limits.get("concurrency", 50), "timeout_s": 30,
                                        "max_retries": 2, "rpm": limits["rpm"], "tpm": limits["tpm"]})


def read_engine(project: Path) -> Callable[[Path], dict[str, Any]]:
    def read(_: Path) -> dict[str, Any]:
        conn = sqlite3.connect(f"file:{project.parent / 'out' / 'bench.state.db'}?mode=ro", uri=True)
        try:
            done, first, last = conn.execute(
                "SELECT count(*), min(first_sent_at), max(finished_at) FROM items WHERE status = 'done'").fetchone()
        finally:
            conn.close()
        return {"answered": done, "run_elapsed_s": last - first}
    return read


def read_raw(log: Path) -> dict[str, Any]:
    return {"answered": int(log.read_text().split()[-1])}


def run_engine(contender: Contender, source: Path, limits: dict[str, Any], tag: str) -> dict[str, Any]:
    project = engine_project(contender.folder, source, contender.sim.base_url, limits, tag)
    return contender.measure("engine", common.oaib_command(str(project), "--no-ui"), read_engine(project))


def run_raw(contender: Contender, source: Path) -> dict[str, Any]:
    command = [sys.executable, str(RAW_CLIENT), contender.sim.base_url, str(source), "50"]
    return contender.measure("raw-aiohttp", command, read_raw)


def pin_server(sim: common.Simulator, args: argparse.Namespace) -> None:
    if args.server_cpu is not None:
        os.sched_setaffinity(sim.process.pid, {args.server_cpu})


def unlimited_pairs(folder: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    source = common.write_products(folder / "products.jsonl", args.requests)
    pairs = []
    with common.simulator(**UNLIMITED) as sim:
        pin_server(sim, args)
        contender = Contender(args, folder, sim)
        warm = common.write_products(folder / "warm.jsonl", 300)
        run_engine(contender, warm, UNLIMITED, "warm-up")
        run_raw(contender, warm)
        for n in range(args.pairs):
            engine_first = n % 2 == 0
            first = run_engine(contender, source, UNLIMITED, f"pair-{n}") if engine_first else run_raw(contender, source)
            second = run_raw(contender, source) if engine_first else run_engine(contender, source, UNLIMITED, f"pair-{n}")
            engine, raw = (first, second) if engine_first else (second, first)
            for name, figures in (("engine", engine), ("raw-aiohttp", raw)):
                if figures["answered"] != args.requests:
                    raise RuntimeError(f"{name}: {figures['answered']} of {args.requests} requests answered")
            pairs.append({"order": "engine first" if engine_first else "raw first", "engine": engine, "raw": raw,
                          "cpu_ratio": engine["cpu_s"] / raw["cpu_s"]})
            print(f"  pair {n + 1}: engine {engine['cpu_s']:.2f} CPU s ({engine['wall_s']:.1f} s wall), "
                  f"raw {raw['cpu_s']:.2f} CPU s ({raw['wall_s']:.1f} s wall): {pairs[-1]['cpu_ratio']:.3f} ×",
                  flush=True)
    return pairs


def limited_runs(folder: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Engine and raw loop against the limits (the raw loop paced to them), then both unlimited: same requests."""
    source = common.write_products(folder / "products-limited.jsonl", args.limited_requests)
    burst = int(LIMITED["rpm"] * LIMITED["bucket_s"] / 60)
    runs = []
    for n in range(args.limited_runs):
        figures = {}
        runs_of_this = (("limited", LIMITED), ("raw-paced", LIMITED), ("unlimited", UNLIMITED),
                        ("raw-unlimited", UNLIMITED))
        for name, settings in runs_of_this:
            with common.simulator(**settings, seed=1) as sim:
                pin_server(sim, args)
                contender = Contender(args, folder, sim)
                if name.startswith("raw"):
                    pace = [str(LIMITED["rpm"]), str(burst)] if name == "raw-paced" else []
                    command = [sys.executable, str(RAW_CLIENT), sim.base_url, str(source), "50", *pace]
                    figures[name] = contender.measure(name, command, read_raw)
                else:
                    figures[name] = run_engine(contender, source, settings, f"{name}-{n}")
                figures[name]["simulator_stats"] = sim.stats()
        limited, paced, unlimited = figures["limited"], figures["raw-paced"], figures["unlimited"]
        raw_unlimited = figures["raw-unlimited"]
        runs.append({**figures, "cpu_ratio": limited["cpu_s"] / unlimited["cpu_s"],
                     "cpu_ratio_to_raw_paced": limited["cpu_s"] / paced["cpu_s"],
                     "raw_cpu_ratio": paced["cpu_s"] / raw_unlimited["cpu_s"]})
        print(f"  rate-limited run {n + 1}: engine {limited['cpu_s']:.2f} CPU s over {limited['wall_s']:.1f} s, "
              f"unlimited {unlimited['cpu_s']:.2f}; raw loop paced alike {paced['cpu_s']:.2f}, "
              f"unlimited {raw_unlimited['cpu_s']:.2f}", flush=True)
    return runs


def per_request_ms(runs: list[dict[str, Any]], requests: int) -> float:
    return statistics.median(r["cpu_s"] for r in runs) / requests * 1000


def summarise(pairs: list[dict[str, Any]], limited: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    n = args.requests
    summary: dict[str, Any] = {}
    if pairs:
        engines, raws = [p["engine"] for p in pairs], [p["raw"] for p in pairs]
        summary.update({
            "engine_cpu_ms_per_request": round(per_request_ms(engines, n), 4),
            "raw_cpu_ms_per_request": round(per_request_ms(raws, n), 4),
            "cpu_ratio_median": round(statistics.median(p["cpu_ratio"] for p in pairs), 3),
            "cpu_ratios": [round(p["cpu_ratio"], 3) for p in pairs],
            "engine_requests_per_s_run": round(statistics.median(n / e["run_elapsed_s"] for e in engines)),
            "engine_requests_per_s_process": round(statistics.median(n / e["wall_s"] for e in engines)),
            "raw_requests_per_s_process": round(statistics.median(n / r["wall_s"] for r in raws)),
            "server_busy_during_engine": round(statistics.median(e["server_busy"] for e in engines), 3),
            "server_busy_during_raw": round(statistics.median(r["server_busy"] for r in raws), 3),
        })
    if limited:
        m = args.limited_requests
        summary.update({
            "limited_cpu_ms_per_request": round(per_request_ms([r["limited"] for r in limited], m), 4),
            "raw_paced_cpu_ms_per_request": round(per_request_ms([r["raw-paced"] for r in limited], m), 4),
            "unlimited_same_size_cpu_ms_per_request": round(per_request_ms([r["unlimited"] for r in limited], m), 4),
            "limited_cpu_ratio_median": round(statistics.median(r["cpu_ratio"] for r in limited), 3),
            "limited_to_raw_paced_ratio_median": round(
                statistics.median(r["cpu_ratio_to_raw_paced"] for r in limited), 3),
            "raw_unlimited_same_size_cpu_ms_per_request": round(
                per_request_ms([r["raw-unlimited"] for r in limited], m), 4),
            "raw_paced_to_unlimited_ratio_median": round(statistics.median(r["raw_cpu_ratio"] for r in limited), 3),
            "limited_elapsed_s": round(statistics.median(r["limited"]["run_elapsed_s"] for r in limited), 1),
            "limited_429s": sum(sum(r["limited"]["simulator_stats"].get("rate_limited", {}).values()) for r in limited),
        })
    if pairs and limited:
        summary["limited_to_unlimited_20k_ratio"] = round(
            summary["limited_cpu_ms_per_request"] / summary["engine_cpu_ms_per_request"], 3)
    return summary


def verdicts(summary: dict[str, Any]) -> dict[str, bool]:
    checks = {}
    if "cpu_ratio_median" in summary:
        checks["cpu_ratio"] = summary["cpu_ratio_median"] <= TARGET_CPU_RATIO
        checks["requests_per_s"] = summary["engine_requests_per_s_run"] >= TARGET_REQUESTS_PER_S
    if "limited_cpu_ratio_median" in summary:
        checks["limited_cpu_ratio"] = summary["limited_cpu_ratio_median"] <= TARGET_LIMITED_RATIO
    return checks


def print_summary(summary: dict[str, Any], checks: dict[str, bool]) -> None:
    common.print_table(["figure", "value"], list(summary.items()), title="Whole-process figures (medians)")
    print()
    for name, passed in checks.items():
        print(f"{name}: {'PASS' if passed else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="requests per unlimited run")
    parser.add_argument("--pairs", type=int, default=3, help="engine/raw pairs (the median ratio is reported)")
    parser.add_argument("--limited-requests", type=int, default=1_200)
    parser.add_argument("--limited-runs", type=int, default=2, help="rate-limited runs, each beside an unlimited one")
    parser.add_argument("--client-cpu", type=int, default=CLIENT_CPU, help="CPU for the clients (-1: no pinning)")
    parser.add_argument("--server-cpu", type=int, default=SERVER_CPU, help="CPU for the simulator (-1: no pinning)")
    parser.add_argument("--case-timeout", type=float, default=600.0)
    parser.add_argument("--name", default="throughput", help="results file name (bench/results/NAME.json)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2 or args.client_cpu < 0:
        args.client_cpu = None
    if (os.cpu_count() or 1) < 2 or args.server_cpu < 0:
        args.server_cpu = None
    print(f"{args.pairs} pairs × {args.requests:,} requests, then {args.limited_runs} rate-limited runs × "
          f"{args.limited_requests:,}; clients on CPU {args.client_cpu}, simulator on CPU {args.server_cpu}")
    with tempfile.TemporaryDirectory(prefix="oaib-bench-throughput-") as folder:
        pairs = unlimited_pairs(Path(folder), args) if args.pairs else []
        limited = limited_runs(Path(folder), args) if args.limited_runs else []
    summary = summarise(pairs, limited, args)
    checks = verdicts(summary)
    print_summary(summary, checks)
    if not args.no_save:
        path = common.save_results(args.name, {
            "settings": {"requests": args.requests, "pairs": args.pairs, "concurrency": 50,
                         "limited_requests": args.limited_requests, "limited_runs": args.limited_runs,
                         "client_cpu": args.client_cpu, "server_cpu": args.server_cpu,
                         "unlimited_simulator": UNLIMITED, "limited_simulator": LIMITED,
                         "request_template": common.PRODUCT_REQUEST},
            "targets": {"cpu_ratio": TARGET_CPU_RATIO, "requests_per_s": TARGET_REQUESTS_PER_S,
                        "limited_cpu_ratio": TARGET_LIMITED_RATIO},
            "summary": summary, "passed": checks, "pairs": pairs, "limited_runs": limited,
        })
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
