"""`mode: hybrid` and `deadline:`, `batch.output_expires_after`: what loads and what is refused."""

from __future__ import annotations

import time

import pytest
from project_helpers import load_error, only_problem

from oaib_tui.project import load_project
from oaib_tui.project.schema import deadline_at, parse_duration

BASE = """\
model: gpt-4o-mini
sources: [{items: [{text: hi}]}]
request: {input: "{text}"}
"""


@pytest.mark.parametrize(("text", "seconds"), [("6h", 21_600), ("90m", 5_400), ("1h30m", 5_400), ("2d", 172_800),
                                               ("45s", 45), ("3600", 3_600), (120, 120)])
def test_durations_read_as_seconds(text, seconds):
    assert parse_duration(text) == seconds


def test_a_deadline_is_a_duration_from_now_or_an_iso_time():
    assert deadline_at("90m", 1_000.0) == 6_400.0
    assert deadline_at("2026-12-04T08:00:00Z", 0.0) == 1_796_371_200.0
    assert deadline_at("2026-12-04T08:00:00", 0.0) == 1_796_371_200.0  # UTC unless it names a zone


def test_a_hybrid_project_with_a_deadline_loads(make_project):
    project = load_project(make_project(BASE + "mode: hybrid\ndeadline: 6h\nhybrid: {flex: false, check_s: 30}\n"))
    assert (project.spec.mode, project.spec.deadline, project.spec.hybrid.check_s) == ("hybrid", "6h", 30)


@pytest.mark.parametrize(("extra", "says"), [
    ("mode: hybrid\n", "needs a `deadline:`"),
    ("mode: hybrid\ndeadline: soon\n", "expected a duration such as 6h"),
    ("mode: hybrid\ndeadline: 2001-01-01T00:00Z\n", "already past"),
    ("mode: batch\ndeadline: 6h\n", "for `mode: hybrid` only"),
    ("mode: hybrid\ndeadline: 6h\nhybrid: {flx: true}\n", "flx"),
])
def test_a_bad_deadline_is_refused_with_its_reason(make_project, extra, says):
    problem = only_problem(load_error(make_project(BASE + extra)))
    assert says in problem.message or says in (problem.key or "")


def test_a_deadline_a_minute_from_now_loads(make_project):
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    assert load_project(make_project(BASE + f"mode: hybrid\ndeadline: '{later}'\n")).spec.deadline == later


@pytest.mark.parametrize(("value", "seconds"), [("7d", 604_800), ("48h", 172_800), (3600, 3_600)])
def test_output_expiry_takes_a_duration(make_project, value, seconds):
    project = load_project(make_project(BASE + f"batch: {{output_expires_after: {value}}}\n"))
    assert project.spec.batch.output_expires_after == seconds


@pytest.mark.parametrize("value", ["30m", "31d", "never"])
def test_output_expiry_outside_an_hour_to_30_days_is_refused(make_project, value):
    problem = only_problem(load_error(make_project(BASE + f"batch: {{output_expires_after: {value}}}\n")))
    assert problem.key == "batch.output_expires_after"
