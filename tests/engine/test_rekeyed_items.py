"""The slow resume path remembers the new key of every finished item it recognises, compactly."""

from __future__ import annotations

import yaml
from engine_helpers import run_job, sim_app, write_project

from oaib_tui import events as ev
from oaib_tui.engine.realtime import RekeyedItems
from oaib_tui.job import JobRun
from oaib_tui.project import load_project


def test_rekeyed_items_iterate_as_the_pairs_appended():
    items = RekeyedItems()
    items.append(("a", 2**64 - 1))
    items.append(("b", 7))
    assert list(items) == [("a", 2**64 - 1), ("b", 7)] and len(items) == 2


async def test_an_edit_that_keeps_the_bodies_sends_nothing_again_and_the_next_resume_is_fast(tmp_path):
    path = write_project(tmp_path, n=5)
    await run_job(path, sim_app())
    spec = yaml.safe_load(path.read_text())
    spec["request"] = {"model": spec["model"], **spec["request"]}  # a new fingerprint, the same bodies
    path.write_text(yaml.safe_dump(spec))
    _, rec, job = await run_job(path, sim_app())
    assert rec.of(ev.RequestSent) == [] and len(job.engine.rekeyed) == 5
    reopened = JobRun(load_project(path))
    try:
        index = reopened.resume_index()
    finally:
        reopened.close()
    assert index.done_keys == {key for _, key in job.engine.rekeyed}
