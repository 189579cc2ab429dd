"""Benchmark: how close a run comes to the shortest time the rate limits allow, and how many 429s it gets.

    python bench/bench_limits.py                          # 4 cases: auto/realtime × bucket 60 s/10 s (~7 min)
    python bench/bench_limits.py --modes auto --buckets 10 --requests 300
    python bench/bench_limits.py --safety 0 --name limits-safety-0   # no headroom at all

Each case starts a fresh simulator (`oaib-tui sim --rpm 600 --tpm 100000
--latency-ms 300 --bucket-s B`, its own process on 127.0.0.1, buckets full)
and runs `oaib-tui PROJECT --no-ui` in a subprocess over N small product
requests. The elapsed time is the run's own, from its first request sent to
its last answer (from the state file); the process's wall time is reported
beside it.

The shortest time the limits allow: the server's buckets start full with
C = limit·bucket_s/60 and refill at r = limit/60 per second, so the last of
N requests (T reserved tokens in all) cannot be admitted before
max((N − C_req)/r_req, (T − C_tok)/r_tok, 0), and is answered one latency
later. The steady-state figure max(N/rpm, T/tpm)·60 s ignores the bucket.
Target: elapsed ≤ 1.05 × shortest and 429s ≤ 1% of N.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import common

from oaib_tui.project.schema import Limits

TARGET_RATIO = 1.05
TARGET_429_SHARE = 0.01
DEFAULT_SAFETY = Limits.model_fields["safety"].default
REQUEST = common.PRODUCT_REQUEST


def reserved_tokens(project_path: Path) -> int:
    """Prompt + max output tokens of every request: what both the engine and the simulator reserve."""
    from oaib_tui import tokens
    from oaib_tui.project import RequestPlan, load_project

    project = load_project(project_path)
    default = project.spec.limits.default_max_output_tokens
    return sum(tokens.prompt_tokens(r.url, r.body, str(r.body["model"])) + tokens.max_output_tokens(r.url, r.body, default)
               for r in RequestPlan(project))


def earliest_finish(total: float, limit: float, bucket_s: float) -> float:
    """Seconds before `total` units can all be admitted by a full bucket of `bucket_s` refilling at limit/60."""
    capacity = limit * bucket_s / 60.0
    return max(0.0, (total - capacity) / (limit / 60.0))


def bounds(n: int, total_tokens: int, args: argparse.Namespace, bucket_s: float) -> dict[str, Any]:
    latency = args.latency_ms / 1000
    by_requests = earliest_finish(n, args.rpm, bucket_s)
    by_tokens = earliest_finish(total_tokens, args.tpm, bucket_s)
    return {
        "shortest_s": max(by_requests, by_tokens) + latency,
        "binds": "requests" if by_requests >= by_tokens else "tokens",
        "shortest_by_requests_s": by_requests + latency,
        "shortest_by_tokens_s": by_tokens + latency,
        "steady_state_s": max(n / args.rpm, total_tokens / args.tpm) * 60,
    }


def read_run(state_path: Path) -> dict[str, Any]:
    """Times, counts and retry reasons the run recorded in its state file."""
    with sqlite3.connect(f"file:{state_path}?mode=ro", uri=True) as conn:
        first, last = conn.execute("SELECT min(first_sent_at), max(finished_at) FROM items").fetchone()
        statuses = dict(conn.execute("SELECT status, count(*) FROM items GROUP BY status").fetchall())
        reasons = dict(conn.execute("SELECT reason, count(*) FROM retries GROUP BY reason").fetchall())
        attempts = conn.execute("SELECT total(attempts) FROM items").fetchone()[0]
    conn.close()
    return {"elapsed_s": (last - first) if first and last else None, "statuses": statuses,
            "retry_reasons": reasons, "attempts": int(attempts)}


def run_case(folder: Path, mode: str, bucket_s: float, args: argparse.Namespace) -> dict[str, Any]:
    sim_settings = {"rpm": args.rpm, "tpm": args.tpm, "bucket_s": bucket_s, "latency_ms": args.latency_ms, "seed": 1}
    limits: dict[str, Any] = {"concurrency": args.concurrency, "safety": args.safety, "timeout_s": 30}
    if mode == "realtime":
        limits.update(rpm=args.rpm, tpm=args.tpm)
    with common.simulator(**sim_settings) as sim:
        project = common.write_project(folder, base_url=sim.base_url, name=f"{mode}-{bucket_s:g}",
                                       mode=mode, limits=limits, request=REQUEST)
        total_tokens = reserved_tokens(project)
        started = time.perf_counter()
        process = subprocess.Popen(common.oaib_command(str(project), "--no-ui"), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            _, err = process.communicate(timeout=args.case_timeout)
        except subprocess.TimeoutExpired:
            common.stop_process(process)
            raise RuntimeError(f"{mode}/{bucket_s:g}: no end within {args.case_timeout:g}s") from None
        wall = time.perf_counter() - started
        sim_stats = sim.stats()
    if process.returncode != 0:
        raise RuntimeError(f"{mode}/{bucket_s:g}: exit code {process.returncode}\n{err}")
    run = read_run(folder / "out" / f"{mode}-{bucket_s:g}.state.db")
    refused = sum(sim_stats["rate_limited"].values())
    retried_429 = sum(n for reason, n in run["retry_reasons"].items() if reason.startswith("429"))
    case = {
        "mode": mode, "bucket_s": bucket_s, "requests": args.requests, "reserved_tokens": total_tokens,
        "process_wall_s": round(wall, 2), **run, "simulator": sim_stats,
        "answered_429_simulator": refused, "retried_429_run": retried_429,
        **bounds(args.requests, total_tokens, args, bucket_s),
    }
    case["ratio_to_shortest"] = case["elapsed_s"] / case["shortest_s"]
    case["ratio_to_steady_state"] = case["elapsed_s"] / case["steady_state_s"]
    case["passed_time"] = case["ratio_to_shortest"] <= TARGET_RATIO
    case["passed_429"] = refused <= TARGET_429_SHARE * args.requests
    return case



def print_cases(cases: list[dict[str, Any]]) -> None:
    rows = [(c["mode"], c["bucket_s"], c["binds"], c["elapsed_s"], c["shortest_s"], c["ratio_to_shortest"],
             c["steady_state_s"], c["ratio_to_steady_state"], c["answered_429_simulator"],
             c["retried_429_run"], c["process_wall_s"], "PASS" if c["passed_time"] and c["passed_429"] else "FAIL")
            for c in cases]
    common.print_table(
        ["mode", "bucket s", "binds", "elapsed s", "shortest s", "× shortest", "N/limit s", "× N/limit",
         "429 (sim)", "429 retries", "process s", "target"], rows,
        title="Limits used: elapsed = first request sent → last answer (state file)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1200)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--tpm", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=300)
    parser.add_argument("--modes", nargs="+", default=["auto", "realtime"], choices=["auto", "realtime"])
    parser.add_argument("--buckets", nargs="+", type=float, default=[60, 10], help="simulator bucket_s values")
    parser.add_argument("--safety", type=float, default=DEFAULT_SAFETY,
                        help=f"limits.safety of the project (default {DEFAULT_SAFETY}, the project file's)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--case-timeout", type=float, default=600, help="seconds before a case is abandoned")
    parser.add_argument("--name", default="limits", help="results file: bench/results/NAME.json (default limits)")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write the results file")
    args = parser.parse_args()
    cases = []
    for mode in args.modes:
        for bucket_s in args.buckets:
            with tempfile.TemporaryDirectory(prefix="oaib-bench-limits-") as folder:
                common.write_products(Path(folder) / "products.jsonl", args.requests)
                print(f"running {mode}, bucket {bucket_s:g} s ...", flush=True)
                cases.append(run_case(Path(folder), mode, bucket_s, args))
    print_cases(cases)
    if not args.no_save:
        path = common.save_results(args.name, {
            "settings": {key: value for key, value in vars(args).items() if key not in ("no_save", "name")},
            "request_template": REQUEST,
            "targets": {"ratio_to_shortest": TARGET_RATIO, "share_429": TARGET_429_SHARE},
            "cases": cases,
        })
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
