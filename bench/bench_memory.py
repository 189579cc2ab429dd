"""Benchmark: peak memory (RSS) of `validate`, `--dry-run` and a real run over a 1,000,000-line source.

    python bench/bench_memory.py                     # 1,000,000 lines; the real run is stopped after 75 s
    python bench/bench_memory.py --lines 100000 --run-seconds 20

The source is JSONL of short product records (~130 bytes a line) in a temp
folder. Each command runs as its own `oaib-tui` process; its peak RSS is the
kernel's high-water mark for that process alone (`os.wait4` rusage), and its
RSS is sampled from /proc while it runs, to show whether it grows. The real run
goes to a zero-latency simulator with no useful limits (its own process on
127.0.0.1) and is stopped with SIGINT after `--run-seconds`, as Ctrl-C would.
Target: every peak under 300 MB.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import common

TARGET_MB = 300
UNLIMITED = {"rpm": 100_000_000, "tpm": 10_000_000_000, "latency_ms": 0}
SAMPLE_EVERY_S = 1.0
STOP_GRACE_S = 60.0


def megabytes(kib: float) -> float:
    return round(kib * 1024 / 1e6, 1)


def watch(process: subprocess.Popen, timeout: float, *, interrupt_after: float | None = None) -> dict[str, Any]:
    """Sample a child's RSS until it exits; SIGINT it after `interrupt_after` s; kill it after `timeout` s."""
    started = time.monotonic()
    samples: list[tuple[float, float]] = []
    interrupted_at = None
    ended = None
    while ended is None:
        elapsed = time.monotonic() - started
        if interrupt_after is not None and interrupted_at is None and elapsed >= interrupt_after:
            process.send_signal(signal.SIGINT)
            interrupted_at = elapsed
        if elapsed > timeout:
            process.kill()
        found = common.rss_kib(process.pid)
        if found:
            samples.append((round(elapsed, 1), megabytes(found[0])))
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


def run_real(project: Path, sim: common.Simulator, seconds: float) -> dict[str, Any]:
    print(f"running a real run for {seconds:g} s, then SIGINT", flush=True)
    process = start(str(project), "--no-ui", cwd=project.parent)
    figures = watch(process, seconds + STOP_GRACE_S, interrupt_after=seconds)
    figures["stderr_tail"] = stderr_tail(project.parent)
    stats = sim.stats()
    figures["requests_received_by_simulator"] = stats["received"]
    figures["requests_answered"] = stats["answered"]
    samples = [mb for t, mb in figures["rss_samples_mb"] if t <= seconds]
    if len(samples) >= 4:
        quarter = len(samples) // 4
        figures["rss_after_first_quarter_mb"] = samples[quarter]
        figures["rss_at_stop_mb"] = samples[-1]
    return figures


def thin(samples: list[tuple[float, float]], every_s: float = 5.0) -> list[tuple[float, float]]:
    """One sample per `every_s` seconds, for the JSON record."""
    kept, next_t = [], 0.0
    for t, mb in samples:
        if t >= next_t:
            kept.append((t, mb))
            next_t = t + every_s
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--run-seconds", type=float, default=75, help="how long the real run goes before SIGINT")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before validate or dry-run is killed")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write bench/results/memory.json")
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="oaib-bench-memory-") as name:
        folder = Path(name)
        started = time.perf_counter()
        source = common.write_products(folder / "products.jsonl", args.lines)
        print(f"wrote {args.lines:,} lines, {source.stat().st_size / 1e6:,.0f} MB, in {time.perf_counter() - started:.1f} s")
        with common.simulator(**UNLIMITED) as sim:
            project = common.write_project(folder, base_url=sim.base_url, limits={"concurrency": 50, "timeout_s": 30})
            results["validate"] = run_command("validate", ["validate", str(project)], folder, args.timeout)
            results["dry-run"] = run_command("dry-run", [str(project), "--dry-run"], folder, args.timeout)
            results["run"] = run_real(project, sim, args.run_seconds)
    for figures in results.values():
        figures["passed"] = figures["peak_rss_mb"] < TARGET_MB
    report(results, args)


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    rows = []
    for name, f in results.items():
        note = ""
        if name == "run":
            note = (f"{f['requests_received_by_simulator']:,} requests sent; RSS {f.get('rss_after_first_quarter_mb')} MB"
                    f" after 1/4 of the time, {f.get('rss_at_stop_mb')} MB at SIGINT")
        rows.append((name, f["peak_rss_mb"], f["wall_s"], f["cpu_s"], f["exit_code"], "PASS" if f["passed"] else "FAIL", note))
    common.print_table(["command", "peak RSS MB", "wall s", "CPU s", "exit", f"< {TARGET_MB} MB", "notes"], rows,
                       title=f"Peak RSS over a {args.lines:,}-line source")
    if args.no_save:
        return
    for figures in results.values():
        figures["rss_samples_mb"] = thin(figures["rss_samples_mb"])
    path = common.save_results("memory", {
        "settings": {"lines": args.lines, "run_seconds": args.run_seconds, "simulator": UNLIMITED,
                     "request_template": common.PRODUCT_REQUEST, "concurrency": 50},
        "target_mb": TARGET_MB,
        "commands": results,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
