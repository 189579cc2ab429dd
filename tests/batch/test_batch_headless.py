"""What a person sees of batch mode without the dashboard: the progress line, the summary and `status`."""

from __future__ import annotations

import io
import re

import pytest
from batch_helpers import write_batch_project

from oaib_tui import events as ev
from oaib_tui.headless import run_headless, status_line
from oaib_tui.progress import Progress
from oaib_tui.project import load_project
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.report import remote_batch_lines
from oaib_tui.sim.app import create_app
from oaib_tui.sim.client import simulator_http_client
from oaib_tui.state.batches import Part

FAST = {"batch_validation_s": 0, "batch_finalizing_s": 0, "batch_lines_per_s": 10_000}


def test_the_progress_line_shows_batches_by_status_and_the_items_in_them():
    progress = Progress(clock=lambda: 100.0)
    progress.handle(ev.RunStarted("p", "gpt-4o-mini", "/v1/chat/completions", "batch", 0, 0, 30, at=100.0))
    for n, status in ((1, "in_progress"), (2, "validating"), (3, "in_progress")):
        progress.handle(ev.BatchCreated(f"batch_{n}", n, f"file_{n}", 10, None, at=100.0))
        progress.handle(ev.BatchStatusChanged(f"batch_{n}", status, at=100.0))
    progress.handle(ev.BatchCountsChanged("batch_1", 10, 4, 1, at=100.0))
    line = status_line(progress)
    assert "batches 2 in_progress, 1 validating" in line and "in batches 25" in line and "done 0/30" in line
    assert line.endswith("ETA —")  # a batch has moved, but not in time: it was created now
    progress.clock = lambda: 150.0
    assert status_line(progress).endswith("ETA 50s")  # 5 of batch_1's 10 in 50 s: 5 more, and the others as long


def test_the_summary_counts_the_batches_and_the_savings_against_realtime(tmp_path):
    path = write_batch_project(tmp_path, n=8, batch={"poll_s": 0.01},
                               pricing={"gpt-4o-mini": {"input": 1000, "output": 4000}})
    app = create_app(SimulatorSettings(latency_ms=0, seed=1, **FAST))  # real time: run_headless has its own loop
    out = io.StringIO()
    code = run_headless(load_project(path), out=out, http_client=simulator_http_client(app))
    text = out.getvalue()
    assert code == 0, text
    assert "batches  1: 1 completed" in text
    savings = re.search(r"savings  \$([\d.,]+) this run against realtime prices \(\$([\d.,]+)\)", text)
    spent = re.search(r"cost     \$([\d.,]+) in all", text)
    assert savings and spent, text
    saved, realtime, cost = (float(v.replace(",", "")) for v in (*savings.groups(), spent.group(1)))
    assert realtime > 0 and saved == pytest.approx(realtime / 2, rel=0.01) and cost == pytest.approx(saved, rel=0.01)


def test_status_lists_the_batches_not_yet_downloaded():
    parts = [Part(1, "m", "/v1/chat/completions", 10, 100, 50, "f1", "downloaded", batch_id="batch_a", status="completed"),
             Part(2, "m", "/v1/chat/completions", 10, 100, 50, "f2", "submitted", batch_id="batch_b",
                  status="in_progress", total=10, completed=3, failed=1, expires_at=1_900_000_000.0),
             Part(3, "m", "/v1/chat/completions", 5, 50, 20, "f3", "written")]
    lines = remote_batch_lines(parts)
    assert lines[0] == "  batches  3 parts: 1 downloaded, 1 submitted, 1 written"
    assert "batch_b" in lines[1] and "in_progress" in lines[1] and "3/10 done, 1 failed" in lines[1]
    assert "(not created)" in lines[2] and "0/5 done" in lines[2] and len(lines) == 3
    assert remote_batch_lines([]) == []


def test_a_job_over_several_models_prices_each_answer_at_its_own_model(tmp_path):
    path = write_batch_project(tmp_path, n=6, batch={"poll_s": 0.01},
                               request={"model": "{m}", "max_tokens": 12,
                                        "messages": [{"role": "user", "content": "Say {word}"}]},
                               sources=[{"items": [{"word": f"w{i}", "m": ["gpt-4o-mini", "gpt-4o"][i % 2]}
                                                   for i in range(6)], "id": "item-{word}"}])
    app = create_app(SimulatorSettings(latency_ms=0, seed=1, **FAST))
    out = io.StringIO()
    assert run_headless(load_project(path), out=out, http_client=simulator_http_client(app)) == 0, out.getvalue()
    text = out.getvalue()
    rows = {m: re.search(rf"{re.escape(m)}\s+3 answers\s+([\d,]+) tokens\s+\$([\d.]+)", text) for m in ("gpt-4o", "gpt-4o-mini")}
    assert all(rows.values()), text
    mini_tokens, mini_cost = float(rows["gpt-4o-mini"].group(1)), float(rows["gpt-4o-mini"].group(2))
    big_tokens, big_cost = float(rows["gpt-4o"].group(1)), float(rows["gpt-4o"].group(2))
    # gpt-4o costs ~16x gpt-4o-mini a token: one price for both would make these ratios equal
    assert (big_cost / big_tokens) > 10 * (mini_cost / mini_tokens)
    saved, realtime = (float(v) for v in re.search(
        r"savings  \$([\d.]+) this run against realtime prices \(\$([\d.]+)\)", text).groups())
    assert saved == pytest.approx(realtime / 2, rel=0.02) and saved > 0
