"""Benchmark: peak memory (RSS) of `validate`, `--dry-run` and a real run over a 1,000,000-line source.

    python bench/bench_memory.py                     # 1,000,000 lines; the real run stops after 100,000 requests
    python bench/bench_memory.py --lines 100000 --run-requests 5000

The source is JSONL of short product records (~130 bytes a line) in a temp
folder. Each command runs as its own `oaib-tui` process; its peak RSS is the
kernel's high-water mark for that process alone (`os.wait4` rusage), and its
RSS is sampled from /proc while it runs, to show whether it grows. The real run
goes to a zero-latency simulator with no useful limits (its own process on
127.0.0.1) and is stopped with SIGINT after `--run-requests` (or `--run-seconds`),
as Ctrl-C would.
Target: every peak under 300 MB.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common

TARGET_MB = 300
UNLIMITED = {"rpm": 100_000_000, "tpm": 10_000_000_000, "latency_ms": 0}
SAMPLE_EVERY_S = 1.0
STOP_GRACE_S = 60.0


def megabytes(kib: float) -> float:
    return round(kib * 1024 / 1e6, 1)


def watch(process: subprocess.Popen, timeout: float, *, count: Callable[[], int] | None = None,
          stop_when: Callable[[float, int], bool] | None = None) -> dict[str, Any]:
    """Sample a child's RSS (and `count()`) until it exits; SIGINT it once `stop_when(elapsed, count)`.

    The child is killed after `timeout` seconds.
    """
    started = time.monotonic()
    samples: list[tuple] = []
    interrupted_at = None
    ended = None
    while ended is None:
        elapsed = time.monotonic() - started
        counted = count() if count else 0
        if stop_when and interrupted_at is None and stop_when(elapsed, counted):
            process.send_signal(signal.SIGINT)
            interrupted_at = elapsed
        if elapsed > timeout:
            process.kill()
        found = common.rss_kib(process.pid)
        if found:
            samples.append((round(elapsed, 1), megabytes(found[0]), *((counted,) if count else ())))
        time.sleep(SAMPLE_EVERY_S if interrupted_at is None else 0.2)
        ended = common.reap(process)
    code, usage = ended
    return {
        "exit_code": code, "wall_s": round(time.monotonic() - started, 1), "peak_rss_mb": megabytes(usage.ru_maxrss),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "interrupted_at_s": interrupted_at, "rss_samples_mb": samples,
    }


def start(*args: str, cwd: Path) -> subprocess.Popen:
    # os.wait4 needs the raw pid: Popen must not reap it first, so nothing here calls wait()/communicate().
    # stderr goes to a file: a pipe nobody reads could fill up and block the child.
    with open(cwd / "stderr.txt", "wb") as err:
        return subprocess.Popen(common.oaib_command(*args), stdout=subprocess.DEVNULL, stderr=err, cwd=cwd)


def stderr_tail(folder: Path, lines: int = 12) -> str:
    text = (folder / "stderr.txt").read_text(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def run_command(name: str, args: list[str], folder: Path, timeout: float) -> dict[str, Any]:
    print(f"running {name}: oaib-tui {' '.join(args)}", flush=True)
    process = start(*args, cwd=folder)
    figures = watch(process, timeout)
    figures["stderr_tail"] = stderr_tail(folder)
    return figures


def run_real(project: Path, sim: common.Simulator, requests: int, seconds: float) -> dict[str, Any]:
    print(f"running a real run until {requests:,} requests or {seconds:g} s, then SIGINT", flush=True)
    before = sim.stats()
    process = start(str(project), "--no-ui", cwd=project.parent)
    figures = watch(process, seconds + STOP_GRACE_S, count=lambda: sim.received() - before["received"],
                    stop_when=lambda elapsed, sent: sent >= requests or elapsed >= seconds)
    figures["stderr_tail"] = stderr_tail(project.parent)
    stats = sim.stats()
    figures["requests_received_by_simulator"] = stats["received"] - before["received"]
    figures["requests_answered"] = stats["answered"] - before["answered"]
    stopped_at = figures["interrupted_at_s"] or figures["wall_s"]
    figures.update(growth([s for s in figures["rss_samples_mb"] if s[0] <= stopped_at]))
    return figures


def growth(samples: list[tuple[float, float, int]]) -> dict[str, Any]:
    """RSS at a quarter, half and all of the requests sent before the SIGINT, and its growth over the second half."""
    if len(samples) < 8:
        return {}
    sent = samples[-1][2]

    def at(share: float) -> tuple[float, float, int]:
        return next(s for s in samples if s[2] >= share * sent)

    half, end = at(0.5), samples[-1]
    per_100k = (end[1] - half[1]) / max(1, end[2] - half[2]) * 100_000
    return {
        "rss_at_quarter_of_requests_mb": at(0.25)[1], "rss_at_half_of_requests_mb": half[1], "rss_at_stop_mb": end[1],
        "growth_second_half_mb_per_100k_requests": round(per_100k, 2),
        "linear_extrapolation_to_1m_requests_mb": round(end[1] + per_100k * max(0, 1_000_000 - end[2]) / 100_000, 1),
    }


def thin(samples: list[tuple], every_s: float = 5.0) -> list[tuple]:
    """One sample per `every_s` seconds, for the JSON record."""
    kept, next_t = [], 0.0
    for sample in samples:
        if sample[0] >= next_t:
            kept.append(sample)
            next_t = sample[0] + every_s
    return kept


def measure_commands(folder: Path, lines: int, sim: common.Simulator, args: argparse.Namespace) -> dict[str, Any]:
    """validate, dry-run and a real run over a fresh `lines`-line source in `folder`."""
    folder.mkdir()
    started = time.perf_counter()
    source = common.write_products(folder / "products.jsonl", lines)
    print(f"wrote {lines:,} lines, {source.stat().st_size / 1e6:,.1f} MB, in {time.perf_counter() - started:.1f} s")
    project = common.write_project(folder, base_url=sim.base_url, limits={"concurrency": 50, "timeout_s": 30})
    results = {
        "validate": run_command("validate", ["validate", str(project)], folder, args.timeout),
        "dry-run": run_command("dry-run", [str(project), "--dry-run"], folder, args.timeout),
        "run": run_real(project, sim, args.run_requests, args.run_seconds),
    }
    for figures in results.values():
        figures["passed"] = figures["peak_rss_mb"] < TARGET_MB
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--baseline-lines", type=int, default=1_000, help="the same commands over a small source first")
    parser.add_argument("--run-requests", type=int, default=100_000, help="requests the real run sends before SIGINT")
    parser.add_argument("--run-seconds", type=float, default=300, help="... or seconds, whichever comes first")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before validate or dry-run is killed")
    parser.add_argument("--name", default="memory", help="results file: bench/results/NAME.json (default memory)")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write the results file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oaib-bench-memory-") as name, common.simulator(**UNLIMITED) as sim:
        baseline = measure_commands(Path(name) / "baseline", args.baseline_lines, sim, args)
        results = measure_commands(Path(name) / "big", args.lines, sim, args)
    report(results, baseline, args)


def report(results: dict[str, dict[str, Any]], baseline: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    rows = []
    for name, f in results.items():
        note = ""
        if name == "run":
            note = (f"{f['requests_received_by_simulator']:,} requests; RSS {f.get('rss_at_quarter_of_requests_mb')},"
                    f" {f.get('rss_at_half_of_requests_mb')}, {f.get('rss_at_stop_mb')} MB at 1/4, 1/2, all of them"
                    f" (+{f.get('growth_second_half_mb_per_100k_requests')} MB per 100k over the second half,"
                    f" {f.get('linear_extrapolation_to_1m_requests_mb')} MB at 1M if that went on)")
        rows.append((name, f["peak_rss_mb"], baseline[name]["peak_rss_mb"], f["wall_s"], f["cpu_s"], f["exit_code"],
                     "PASS" if f["passed"] else "FAIL", note))
    common.print_table(["command", "peak RSS MB", f"at {args.baseline_lines:,} lines", "wall s", "CPU s", "exit",
                        f"< {TARGET_MB} MB", "notes"], rows, title=f"Peak RSS over a {args.lines:,}-line source")
    if args.no_save:
        return
    for figures in [*results.values(), *baseline.values()]:
        figures["rss_samples_mb"] = thin(figures["rss_samples_mb"])
    path = common.save_results(args.name, {
        "settings": {"lines": args.lines, "baseline_lines": args.baseline_lines, "run_requests": args.run_requests,
                     "run_seconds": args.run_seconds, "simulator": UNLIMITED,
                     "request_template": common.PRODUCT_REQUEST, "concurrency": 50},
        "target_mb": TARGET_MB,
        "commands": results,
        "baseline": baseline,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
