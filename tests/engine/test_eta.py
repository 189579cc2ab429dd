"""The ETA of the demo (the README's Quickstart) against the time its run really took, on virtual time.

The demo presses against its token limit after a burst: an ETA extrapolated
from the burst's pace was three times too short. The limiter's model is not.
"""

from __future__ import annotations

import shutil

import pytest
import yaml
from engine_helpers import run_job, sim_app

from oaib_tui import events as ev
from oaib_tui import forecast
from oaib_tui.progress import Progress
from oaib_tui.project import RequestPlan, load_project

pytestmark = pytest.mark.looptime

CHECKPOINTS = (0.25, 0.50, 0.75)


@pytest.fixture
def demo(tmp_path, projects_dir):
    """The demo project, copied (with its data) so that its state and outputs stay in tmp_path."""
    shutil.copytree(projects_dir / "data", tmp_path / "data")
    shutil.copy(projects_dir / "demo.yaml", tmp_path / "demo.yaml")
    return tmp_path / "demo.yaml"


def simulator_of(path):
    return sim_app(**yaml.safe_load(path.read_text())["provider"]["simulator"])


class EtaAtCheckpoints:
    """Folds the run's events into a Progress on the events' own clock; notes the ETA as each checkpoint is passed."""

    def __init__(self) -> None:
        self.now = 0.0
        self.progress = Progress(clock=lambda: self.now)
        self.noted: dict[float, tuple[float, float | None]] = {}

    def __call__(self, event: ev.Event) -> None:
        self.now = event.at
        self.progress.handle(event)
        p = self.progress
        if isinstance(event, (ev.RequestSucceeded, ev.RequestFailed)) and p.total:
            for checkpoint in CHECKPOINTS:
                if checkpoint not in self.noted and p.finished_count >= checkpoint * p.total:
                    self.noted[checkpoint] = (event.at, p.eta_s())


async def test_the_eta_at_a_quarter_half_and_three_quarters_is_within_a_fifth_of_the_time_left(demo):
    watch = EtaAtCheckpoints()
    finished, _, _ = await run_job(demo, simulator_of(demo), on_event=watch)
    assert finished.done == 300
    for checkpoint in CHECKPOINTS:
        at, eta = watch.noted[checkpoint]
        really_left = finished.at - at
        assert eta == pytest.approx(really_left, rel=0.2), f"at {checkpoint:.0%}: ETA {eta}, took {really_left}"


async def test_the_dry_run_forecast_of_the_demo_is_within_a_fifth_of_its_run(demo):
    project = load_project(demo)
    expected = forecast.forecast(project, RequestPlan(project)).shortest_s
    finished, recorder, _ = await run_job(demo, simulator_of(demo))
    took = finished.at - recorder.of(ev.RunStarted)[0].at
    assert expected == pytest.approx(took, rel=0.2)
