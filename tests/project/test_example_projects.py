"""Every example project in projects/ loads and renders all its requests."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from oaib_tui.project import RequestPlan, load_project

PROJECTS = Path(__file__).resolve().parents[2] / "projects"
EXAMPLES = sorted(PROJECTS.glob("*.yaml"))


def test_the_examples_are_all_there():
    names = {path.name for path in EXAMPLES}
    assert {"demo.yaml", "openai-realtime.yaml", "openai-batch.yaml", "embeddings.yaml", "azure.yaml", "compatible.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_loads_and_renders_every_request(path):
    project = load_project(path)
    requests = list(RequestPlan(project))
    assert requests
    assert len({r.custom_id for r in requests}) == len(requests)
    for request in requests:
        assert request.body.get("model")
        json.dumps(request.body)  # every body is sendable JSON
    assert project.results_path.is_relative_to(PROJECTS / "out")


def test_demo_runs_offline_against_the_simulator_and_presses_its_limits():
    project = load_project(PROJECTS / "demo.yaml")
    spec = project.spec
    assert (spec.provider.kind, spec.mode, spec.provider.base_url) == ("simulator", "auto", None)
    simulator = spec.provider.simulator
    assert (simulator.rpm, simulator.tpm, simulator.bucket_s, simulator.latency_ms) == (1500, 150_000, 10, 300)
    assert len(list(RequestPlan(project))) == 300
    assert project.state_path == PROJECTS / "out" / "demo.state.db"


def test_demo_data_is_what_its_generator_writes():
    spec = importlib.util.spec_from_file_location("make_demo_prompts", PROJECTS / "data" / "make_demo_prompts.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    committed = (PROJECTS / "data" / "demo-prompts.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in committed] == generator.records(300)


def test_batch_example_passes_ready_lines_through():
    requests = {r.custom_id: r for r in RequestPlan(load_project(PROJECTS / "openai-batch.yaml"))}
    assert requests["faq-2"].body["model"] == "gpt-4o"
    assert requests["faq-1"].body["model"] == "gpt-4o-mini"
    assert requests["questions-1"].body["messages"][1]["content"].startswith("What is the boiling point")
