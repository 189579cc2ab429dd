"""Benchmark: how long a run on a state file of 1,000,000 done items takes to send its first new request.

    python bench/bench_resume.py                    # 1,000,000 done lines + 10 new ones
    python bench/bench_resume.py --lines 100000

The source is a JSONL file of product records; the state file holds its first
N lines as done, written in bulk with the store's schema and the very keys a
run computes (custom_id, body hash, input key, plan fingerprint), so it is the
file a finished run would have left. New lines are appended to the source, and
`oaib-tui PROJECT --no-ui` is started against a simulator in its own process.
The time measured runs from just before the process is started to the first
request arriving at the simulator (`GET /sim/stats` polled every 10 ms); the
run's own `first_sent_at` of the first new item is reported beside it.

- fast path: the project unchanged; finished lines are skipped by the hash of
  their raw text, without parsing or rendering them.
- slow path: the request template edited (it now names the model itself), so
  the plan's fingerprint changes while every body stays the same: each line is
  parsed, rendered and looked up by custom_id and body hash.

Target: the fast path under 5 s. The slow path is allowed to be slower.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common

TARGET_S = 5.0
POLL_S = 0.01
CHUNK = 50_000
RESPONSE = {"id": "chatcmpl-bench", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "A sturdy pick for everyday use at home."}}],
            "usage": {"prompt_tokens": 24, "completion_tokens": 11, "total_tokens": 35}}


def edited_request() -> dict[str, Any]:
    """The same bodies from an edited template: the model moves into it, which changes the fingerprint."""
    return {"model": "gpt-4o-mini", **common.PRODUCT_REQUEST}


def _rows(plan, lines) -> tuple[list[tuple], list[tuple]]:
    from oaib_tui.state.recording import signed64, to_json

    items, payloads, response = [], [], to_json(RESPONSE)
    for line in lines:
        request = plan.prepare(line)
        row_id = line.seq + 1
        items.append((row_id, request.custom_id, line.seq, request.source, line.line, request.body_hash,
                      signed64(request.input_key)))
        payloads.append((row_id, to_json(request.body), to_json(request.keep), response))
    return items, payloads


def build_done_state(project_path: Path, done: int) -> float:
    """The state file of a run that answered the first `done` lines; returns the seconds it took."""
    from oaib_tui.project import RequestPlan, load_project
    from oaib_tui.state.store import StateStore

    started = time.perf_counter()
    project = load_project(project_path)
    plan = RequestPlan(project)
    store = StateStore.open(project.state_path, project_name=project.name, project_path=str(project.path),
                            fingerprint=plan.fingerprint)
    chunk: list = []
    for line in plan.lines():
        if line.seq >= done:
            break
        chunk.append(line)
        if len(chunk) == CHUNK:
            _insert(store.conn, *_rows(plan, chunk))
            chunk.clear()
    if chunk:
        _insert(store.conn, *_rows(plan, chunk))
    store.close()
    return time.perf_counter() - started


def _insert(conn: sqlite3.Connection, items: list[tuple], payloads: list[tuple]) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        """INSERT INTO items (id, custom_id, seq, source, line, body_hash, input_key, status, attempts,
               first_sent_at, finished_at, latency_s, prompt_tokens, cached_tokens, completion_tokens, cost_usd)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'done', 1, 1.0, 2.0, 0.3, 24, 0, 11, 0.00001)""", items)
    conn.executemany("INSERT INTO payloads (item, request, keep, response) VALUES (?, ?, ?, ?)", payloads)
    conn.execute("COMMIT")


def build_in_child(project: Path, done: int) -> float:
    """build_done_state in a process of its own: a child's peak RSS (wait4) starts from its parent's
    at exec, so this process must stay small for the runs' figures to be their own."""
    built = subprocess.run([sys.executable, __file__, "--build-state", str(project), str(done)],
                           capture_output=True, text=True, check=True)
    return float(built.stdout)


def first_new_request(project: Path, sim: common.Simulator, first_new_seq: int, timeout: float) -> dict[str, Any]:
    """Start a run and time it to its first request at the simulator; let it finish (only the new lines)."""
    before = sim.received()
    err_path = project.parent / "stderr.txt"
    with open(err_path, "wb") as err:
        started_wall, started = time.time(), time.perf_counter()
        process = subprocess.Popen(common.oaib_command(str(project), "--no-ui"), stdout=subprocess.DEVNULL, stderr=err)
    to_first, ended = None, None
    while to_first is None and ended is None and time.perf_counter() - started < timeout:
        if sim.received() > before:
            to_first = time.perf_counter() - started
        else:
            time.sleep(POLL_S)
            ended = common.reap(process)
    code, usage = ended or common.wait_with_rusage(process, max(10.0, timeout - (time.perf_counter() - started)))
    summary = err_path.read_text(errors="replace")
    if code != 0 or to_first is None:
        raise RuntimeError(f"the run failed (exit {code}, first request {to_first})\n{summary}")
    return {"to_first_request_s": round(to_first, 3), "process_wall_s": round(time.perf_counter() - started, 2),
            "to_first_sent_event_s": _first_sent_after(project, first_new_seq, started_wall),
            "peak_rss_mb": round(usage.ru_maxrss * 1024 / 1e6, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "sent": sim.received() - before, "summary": summary.strip().splitlines()[:3]}


BREAKDOWN = """
import json, sys, time
started = time.perf_counter()
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
imported = time.perf_counter()
job = JobRun(load_project(sys.argv[1]))
opened = time.perf_counter()
index = job.resume_index()
indexed = time.perf_counter()
new = sum(1 for line in job.plan.lines() if index.status_by_key(job.plan.input_key(line)) is None)
skipped = time.perf_counter()
job.close()
print(json.dumps({"imports_s": imported - started, "open_state_s": opened - imported,
                  "load_resume_keys_s": indexed - opened, "skip_loop_s": skipped - indexed, "new_lines": new}))
"""


def fast_path_breakdown(project: Path) -> dict[str, Any]:
    """The fast path's parts, timed in a fresh process: imports, opening the state, loading its keys, the skip loop."""
    done = subprocess.run([sys.executable, "-c", BREAKDOWN, str(project)], capture_output=True, text=True,
                          timeout=300, check=True)
    return {key: round(value, 3) for key, value in json.loads(done.stdout).items()}


def _first_sent_after(project_path: Path, first_new_seq: int, started_wall: float) -> float | None:
    from oaib_tui.project import load_project

    state = load_project(project_path).state_path
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as conn:
        (first,) = conn.execute("SELECT min(first_sent_at) FROM items WHERE seq >= ?", (first_new_seq,)).fetchone()
    conn.close()
    return None if first is None else round(first - started_wall, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="done lines in the state file")
    parser.add_argument("--new", type=int, default=10, help="new lines appended for each run")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a run is abandoned")
    parser.add_argument("--name", default="resume", help="results file: bench/results/NAME.json (default resume)")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write the results file")
    parser.add_argument("--build-state", nargs=2, metavar=("PROJECT", "LINES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_state:
        print(build_done_state(Path(args.build_state[0]), int(args.build_state[1])))
        return
    with tempfile.TemporaryDirectory(prefix="oaib-bench-resume-") as name, common.simulator(latency_ms=50) as sim:
        figures = run_all(Path(name), sim, args)
    report(figures, args)


def run_all(folder: Path, sim: common.Simulator, args: argparse.Namespace) -> dict[str, Any]:
    from oaib_tui.project import load_project

    baseline_dir = folder / "baseline"
    baseline_dir.mkdir()
    common.write_products(baseline_dir / "products.jsonl", args.new, first=args.lines)
    print("baseline: no state file, only the new lines", flush=True)
    baseline = first_new_request(common.write_project(baseline_dir, base_url=sim.base_url), sim, 0, args.timeout)
    source = common.write_products(folder / "products.jsonl", args.lines)
    project = common.write_project(folder, base_url=sim.base_url)
    build_s = build_in_child(project, args.lines)
    state = load_project(project).state_path
    print(f"built a state file of {args.lines:,} done items in {build_s:.1f} s ({state.stat().st_size / 1e6:,.0f} MB)")
    figures: dict[str, Any] = {"baseline": baseline, "build_state_s": round(build_s, 1), "state_file_mb": round(state.stat().st_size / 1e6)}
    common.write_products(source, args.new, first=args.lines, append=True)
    print("fast path: unchanged project", flush=True)
    figures["fast_breakdown"] = fast_path_breakdown(project)
    figures["fast"] = first_new_request(project, sim, args.lines, args.timeout)
    edited = common.write_project(folder, base_url=sim.base_url, request=edited_request(), name="bench")
    assert edited == project
    check_same_bodies_new_fingerprint(project, state)
    common.write_products(source, args.new, first=args.lines + args.new, append=True)
    print("slow path: edited template, same bodies", flush=True)
    figures["slow"] = first_new_request(project, sim, args.lines + args.new, args.timeout)
    return figures


def check_same_bodies_new_fingerprint(project: Path, state: Path) -> None:
    """The edited project must take the slow path and still find every finished line by its body."""
    from oaib_tui.project import RequestPlan, load_project

    plan = RequestPlan(load_project(project))
    first = plan.prepare(next(iter(plan.lines())))
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as conn:
        (stored,) = conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        (body_hash,) = conn.execute("SELECT body_hash FROM items WHERE seq = 0").fetchone()
    conn.close()
    if stored == plan.fingerprint or body_hash != first.body_hash:
        raise RuntimeError("the edited template must change the fingerprint and keep the bodies")


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    rows = [(path, figures[path]["to_first_request_s"], figures[path]["to_first_sent_event_s"],
             figures[path]["process_wall_s"], figures[path]["peak_rss_mb"], figures[path]["sent"],
             ("PASS" if figures[path]["to_first_request_s"] < TARGET_S else "FAIL") if path == "fast" else "—")
            for path in ("baseline", "fast", "slow")]
    common.print_table(["path", "to first request s", "to RequestSent s", "whole run s", "peak RSS MB", "sent", f"< {TARGET_S:g} s"],
                       rows, title=f"Resume over {args.lines:,} done items (+{args.new} new lines)")
    common.print_table(["part of the fast path (own process, no engine)", "s"], list(figures["fast_breakdown"].items()))
    if args.no_save:
        return
    figures["fast"]["passed"] = figures["fast"]["to_first_request_s"] < TARGET_S
    path = common.save_results(args.name, {
        "settings": {"lines": args.lines, "new_lines": args.new, "request_template": common.PRODUCT_REQUEST,
                     "edited_template": edited_request()},
        "target_s": TARGET_S, **figures,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
