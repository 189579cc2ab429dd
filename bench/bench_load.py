"""Load: 100,000 requests through faults, and every item accounted for.

    python bench/bench_load.py                          # 100,000 requests, 2% 5xx, 1% dropped connections
    python bench/bench_load.py --requests 3000 --no-save

The simulator runs as its own `oaib-tui sim` process on 127.0.0.1 with zero
latency, limits far above what the run can reach, and seeded faults: a share
of requests answered 500/502/503, another share whose connection is cut
before a byte comes back. `oaib-tui run PROJECT --no-ui` runs as a second
process, watched for its RSS. At the end the results and errors files must
hold each of the source's items exactly once, with no item failed, and the
state file must agree. Writes bench/results/load.json (load-<N>.json for other sizes).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import common

SIM = {"rpm": 100_000_000, "tpm": 10_000_000_000, "latency_ms": 0, "bucket_s": 60, "seed": 6}


def run_and_watch(project: Path, timeout: float) -> dict[str, Any]:
    """Run the project in a child process; wall time, CPU time and peak RSS of that child alone."""
    with open(project.parent / "stderr.txt", "wb") as err:
        process = subprocess.Popen(common.oaib_command("run", str(project), "--no-ui"), stdout=subprocess.DEVNULL,
                                   stderr=err, cwd=project.parent)
    started, peak_kib = time.perf_counter(), 0
    deadline = started + timeout
    while time.perf_counter() < deadline:
        ended = common.reap(process)
        if ended:
            break
        sampled = common.rss_kib(process.pid)
        if sampled:
            peak_kib = max(peak_kib, sampled[1])
        time.sleep(0.2)
    else:
        ended = common.wait_with_rusage(process, 0)
    wall = time.perf_counter() - started
    code, usage = ended
    return {"exit_code": code, "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mb": round(max(peak_kib, usage.ru_maxrss) / 1024, 1)}


def accounting(folder: Path, expected_ids: list[str]) -> dict[str, Any]:
    """Each item in the results or the errors exactly once, and what the state file says about retries."""
    results = [json.loads(line)["custom_id"] for line in (folder / "out" / "load.results.jsonl").open()]
    errors = [json.loads(line)["custom_id"] for line in (folder / "out" / "load.errors.jsonl").open()]
    written = Counter(results + errors)
    conn = sqlite3.connect(f"file:{folder / 'out' / 'load.state.db'}?mode=ro", uri=True)
    try:
        statuses = dict(conn.execute("SELECT status, count(*) FROM items GROUP BY status").fetchall())
        reasons = dict(conn.execute("SELECT reason, count(*) FROM retries GROUP BY reason ORDER BY 2 DESC").fetchall())
        attempts = conn.execute("SELECT total(attempts) FROM items").fetchone()[0]
    finally:
        conn.close()
    return {
        "results": len(results), "errors": len(errors),
        "every_item_exactly_once": sorted(written) == sorted(expected_ids) and max(written.values()) == 1,
        "state_statuses": statuses, "retries": sum(reasons.values()), "retries_by_reason": reasons,
        "attempts": int(attempts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--fail-rate", type=float, default=0.02, help="share of requests answered with a 5xx")
    parser.add_argument("--drop-rate", type=float, default=0.01, help="share of connections dropped")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before the run is killed")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write bench/results")
    args = parser.parse_args()
    settings = {**SIM, "fail_rate": args.fail_rate, "drop_rate": args.drop_rate}
    with tempfile.TemporaryDirectory(prefix="oaib-bench-load-") as name:
        folder = Path(name)
        common.write_products(folder / "products.jsonl", args.requests)
        ids = [f"SKU-{n:07d}" for n in range(args.requests)]
        with common.simulator(**settings) as sim:
            project = common.write_project(folder, base_url=sim.base_url, name="load",
                                           limits={"concurrency": args.concurrency, "timeout_s": 30})
            print(f"running {args.requests:,} requests ({args.fail_rate:.0%} 5xx, {args.drop_rate:.0%} dropped)...",
                  flush=True)
            run = run_and_watch(project, args.timeout)
            stats = sim.stats()
        run["stderr_tail"] = (folder / "stderr.txt").read_text(errors="replace").splitlines()[-10:]
        run.update(accounting(folder, ids))
    run["simulator"] = {key: stats.get(key) for key in ("received", "answered", "faults", "statuses")}
    run["requests_per_s"] = round(args.requests / run["wall_s"], 1)
    run["passed"] = run["exit_code"] == 0 and run["every_item_exactly_once"] and run["errors"] == 0
    report(run, args, settings)


def report(run: dict[str, Any], args: argparse.Namespace, settings: dict[str, Any]) -> None:
    common.print_table(
        ["requests", "wall s", "req/s", "CPU s", "peak RSS MB", "retries", "each item once", "exit", "result"],
        [(args.requests, run["wall_s"], run["requests_per_s"], run["cpu_s"], run["peak_rss_mb"], run["retries"],
          run["every_item_exactly_once"], run["exit_code"], "PASS" if run["passed"] else "FAIL")],
        title=f"Load with {args.fail_rate:.0%} 5xx and {args.drop_rate:.0%} dropped connections")
    print(f"retries by reason: {run['retries_by_reason']}; simulator: {run['simulator']}")
    if args.no_save:
        return
    name = "load" if args.requests == 100_000 else f"load-{args.requests}"
    path = common.save_results(name, {
        "settings": {"requests": args.requests, "concurrency": args.concurrency, "simulator": settings,
                     "request_template": common.PRODUCT_REQUEST},
        "run": run,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
