"""Results: flat records, pandas when it is there, and settings mistakes reported by key."""

from __future__ import annotations

import sys
import types

import pytest

from oaib_tui import Job, UserError, simulator_client
from oaib_tui.api.results import Result, Results
from oaib_tui.events import Usage
from oaib_tui.project.loader import project_from_mapping


def _results() -> Results:
    ok = Result("a", {"row": 1, "text": "mine"}, {"choices": [{"message": {"content": "hello"}}]}, Usage(5, 1, 2),
                0.5, None, 1, 0)
    failed = Result("b", "plain", None, Usage(), None, {"message": "bad request", "status_code": 400}, 2, 1)
    return Results(lambda: iter([ok, failed]), state="finished")


def test_records_are_flat_with_metadata_columns_first():
    first, second = _results().to_records()
    assert first == {"custom_id": "a", "row": 1, "metadata.text": "mine", "ok": True, "text": "hello",
                     "response": {"choices": [{"message": {"content": "hello"}}]}, "error": None,
                     "prompt_tokens": 5, "cached_tokens": 1, "completion_tokens": 2, "cost": 0.5, "attempts": 1}
    assert (second["metadata"], second["ok"], second["error"], second["cost"]) == ("plain", False, "bad request", None)


def test_errors_cost_usage_and_indexing():
    results = _results()
    assert repr(results) == "<Results finished: iterate to read them>"
    assert [r.custom_id for r in results.errors] == ["b"]
    assert results.cost == 0.5 and results.usage == Usage(5, 1, 2)
    assert len(results) == 2 and results[1].custom_id == "b" and [r.custom_id for r in results[:1]] == ["a"]
    assert repr(results) == "<Results finished: 2 results, 1 error, cost $0.5000>"


def test_to_pandas_builds_a_frame_from_the_records(monkeypatch):
    made = []
    fake = types.SimpleNamespace(DataFrame=types.SimpleNamespace(from_records=lambda rows: made.append(rows) or "df"))
    monkeypatch.setitem(sys.modules, "pandas", fake)
    assert _results().to_pandas() == "df"
    assert [row["custom_id"] for row in made[0]] == ["a", "b"]


def test_to_pandas_without_pandas_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        _results().to_pandas()


def test_bad_settings_name_every_key_with_a_suggestion(tmp_path):
    with pytest.raises(UserError) as caught:
        Job("gpt-4o-mini", mode="fast", limits={"tmp": 5, "rpm": -1}, state=tmp_path / "x.db")
    text = str(caught.value)
    assert "Job(...): invalid settings" in text
    assert "`mode`" in text and "`limits.rpm`" in text
    assert "`limits.tmp`" in text and "did you mean `tpm`" in text


def test_realtime_mode_needs_fixed_limits_as_in_a_project_file(tmp_path):
    with pytest.raises(UserError, match="realtime"):
        Job("gpt-4o-mini", mode="realtime", state=tmp_path / "x.db")


def test_a_provider_may_be_given_by_kind_alone(tmp_path):
    job = Job("gpt-4o-mini", provider="simulator", state=tmp_path / "p.state.db", quiet=True)
    job.add(messages=[])
    assert job.project().spec.provider.kind == "simulator"
    assert job.name == "p" and job.state_path == tmp_path / "p.state.db"


def test_simulator_settings_are_checked():
    with pytest.raises(UserError, match="latency_ms"):
        simulator_client(latency_ms=-1)


def test_a_project_from_a_mapping_is_checked_like_a_file(tmp_path):
    data = {"model": "m", "sources": [{"items": [{"a": 1}]}], "request": {"messages": "{b}"}}
    with pytest.raises(UserError) as caught:
        project_from_mapping(data, path=tmp_path / "inline", label="my job")
    assert "my job is not a valid project" in str(caught.value)
    assert "no field `b`" in str(caught.value)
    good = project_from_mapping({**data, "request": {"messages": "{a}"}}, path=tmp_path / "inline")
    assert good.name == "inline" and good.state_path == tmp_path / "out" / "inline.state.db"
