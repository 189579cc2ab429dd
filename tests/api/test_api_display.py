"""Progress for scripts and notebooks, and silence when asked."""

from __future__ import annotations

import io
import sys
import types

import pytest
from api_helpers import chat_job, sim

from oaib_tui import events as ev
from oaib_tui.api.display import (
    NotebookDisplay,
    QuietDisplay,
    TextDisplay,
    choose_display,
    progress_line,
)
from oaib_tui.progress import Progress


def _events(done: int, failed: int, total: int = 10, finished: bool = False) -> list[ev.Event]:
    events: list[ev.Event] = [ev.RunStarted("demo", "gpt-4o-mini", "/v1/chat/completions", "auto", 0, 0, total, at=0)]
    for seq in range(done + failed):
        events.append(ev.RequestSent(f"r{seq}", seq, 1, reserved_tokens=100, at=0))
    for seq in range(done):
        events.append(ev.RequestSucceeded(f"r{seq}", seq, 1, 200, 0.1, ev.Usage(60, 0, 40), 0.0025, {}, at=0))
    for seq in range(done, done + failed):
        events.append(ev.RequestFailed(f"r{seq}", seq, 1, "400", 400, "bad", None, at=0))
    if finished:
        events.append(ev.RunFinished("finished", None, "1 request failed", done, failed, 0, 0.0, 1, at=0))
    return events


def _fed(display, events):
    for event in events:
        display.handle(event)
    return display


def test_the_line_shows_done_failed_rpm_tpm_spend_and_eta():
    progress = Progress(clock=lambda: 5.0)
    for event in _events(done=3, failed=1):
        progress.handle(event)
    line = progress_line(progress)
    assert line.startswith("demo: 3/10 done │ 1 failed │ RPM 4 │ TPM 400 │ $0.0075 │ ETA ")


def test_a_terminal_gets_one_line_redrawn_in_place_and_a_final_line():
    out = io.StringIO()
    display = _fed(TextDisplay(out, interactive=True), _events(done=2, failed=0))
    display.tick()
    display.tick()
    for event in _events(done=3, failed=1, finished=True)[-1:]:
        display.handle(event)
    display.close()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.count("\r") == 3
    assert text.rstrip("\n").rsplit("\r", 1)[-1].endswith("finished: 1 request failed in 0s")


def test_a_log_file_gets_plain_lines_and_notices():
    out = io.StringIO()
    display = _fed(TextDisplay(out, interactive=False), _events(done=1, failed=0))
    display.handle(ev.Notice("token counts are estimated", "warning"))
    display.tick()
    lines = out.getvalue().splitlines()
    assert lines[0] == "note: token counts are estimated"
    assert lines[1].startswith("demo: 1/10 done")
    assert "\r" not in out.getvalue()


def test_a_notebook_gets_one_output_updated_in_place(monkeypatch):
    shown, updates = [], []

    class Handle:
        def update(self, value):
            updates.append(value)

    def display(value, display_id=False):
        shown.append(value)
        return Handle() if display_id else None

    fake_display = types.SimpleNamespace(display=display, Pretty=lambda text: ("pretty", text))
    fake_ipython = types.SimpleNamespace(get_ipython=lambda: types.SimpleNamespace(kernel=object()),
                                         display=fake_display)
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", fake_display)
    chosen = choose_display(quiet=False)
    assert isinstance(chosen, NotebookDisplay)
    _fed(chosen, _events(done=2, failed=0))
    chosen.tick()
    chosen.tick()
    chosen.close()
    assert len(shown) == 1 and len(updates) == 2
    assert shown[0][1].startswith("demo: 2/10 done")


def test_outside_a_kernel_the_display_is_text_and_quiet_is_silent(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert isinstance(choose_display(quiet=False), TextDisplay)
    assert isinstance(choose_display(quiet=True), QuietDisplay)


@pytest.mark.looptime
async def test_a_quiet_job_prints_nothing_and_a_default_one_prints_progress(tmp_path, capsys):
    await chat_job(tmp_path / "q", sim(), n=3, quiet=True).run()
    assert capsys.readouterr() == ("", "")
    await chat_job(tmp_path / "v", sim(), n=3, quiet=False).run()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "t: 3/3 done │ 0 failed" in captured.err and "finished: all requests answered" in captured.err


def test_the_line_says_what_limits_the_run_after_its_eta():
    progress = Progress(clock=lambda: 5.0)
    for event in _events(done=3, failed=1):
        progress.handle(event)
    progress.handle(ev.PaceObserved("concurrency", 0.0, None, (), 4, at=5.0))
    assert progress_line(progress).endswith(" │ ETA 0s │ concurrency: 0 of 4 in flight")  # 6 × 0.1 s, 4 at a time
