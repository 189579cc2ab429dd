"""What a job gives back: one :class:`Result` per finished request, and :class:`Results` around them.

Results are read from the state file, so they are the same whether the
requests were answered in this run or an earlier one. Iterating a
:class:`Results` streams them from the file; indexing it or asking its length
loads them all once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from ..events import Usage
from ..state.outputs import answer_text
from ..wording import counted, money


@dataclass(frozen=True, slots=True)
class Result:
    """One finished request: its answer or its error, what it used and what it cost."""

    custom_id: str
    metadata: Any
    """What was passed as `metadata=` to `Job.add` (project jobs: the `output.keep` fields)."""
    response: dict[str, Any] | None
    """The API's response body; None if the request failed."""
    usage: Usage
    cost: float | None
    """US dollars; None when the model's price is unknown."""
    error: dict[str, Any] | None
    """`reason`, `status_code`, `message` and the API's error `body`; None if the request succeeded."""
    attempts: int
    seq: int
    """The request's place in the input, 0-based."""
    tier: str | None = None
    """What the answer was charged at: `standard`, `flex`, `priority` or `batch`; None if it failed (or was
    recorded before the state file knew tiers)."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.response is not None

    @property
    def text(self) -> str | None:
        """The generated text of a chat, responses or completions answer."""
        return answer_text(self.response)


def result_from_row(row: dict[str, Any], metadata: Any) -> Result:
    """A Result from a StateReader result row."""
    usage = row["usage"]
    return Result(
        custom_id=row["custom_id"], metadata=metadata, response=row["response"] if row["status"] == "done" else None,
        usage=Usage(usage["prompt_tokens"], usage["cached_tokens"], usage["completion_tokens"]),
        cost=row["cost_usd"], error=row["error"] if row["status"] == "failed" else None,
        attempts=row["attempts"], seq=row["seq"], tier=row.get("tier"),
    )


class Results(Sequence[Result]):
    """The finished requests of a job, in input order."""

    def __init__(self, rows: Callable[[], Iterator[Result]], *, state: str | None = "finished", message: str = "",
                 pending: int = 0) -> None:
        self._rows = rows
        self._loaded: list[Result] | None = None
        self.state = state
        """`finished` (every request answered or failed), `stopped`, or None when not from a run."""
        self.message = message
        self.pending = pending
        """Requests not finished when the run stopped (they are sent on the next run)."""

    def __iter__(self) -> Iterator[Result]:
        return iter(self._loaded) if self._loaded is not None else self._rows()

    def _all(self) -> list[Result]:
        if self._loaded is None:
            self._loaded = list(self._rows())
        return self._loaded

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> Result: ...
    @overload
    def __getitem__(self, index: slice) -> list[Result]: ...
    def __getitem__(self, index):
        return self._all()[index]

    def __repr__(self) -> str:
        # Cheap: a notebook shows this for a bare `await job.run()`, and a million results must not load for it.
        if self._loaded is None:
            return f"<Results {self.state or 'read from the state file'}: {self.message or 'iterate to read them'}>"
        errors = sum(1 for result in self._loaded if not result.ok)
        return f"<Results {self.state}: {counted(len(self._loaded), 'result')}, {counted(errors, 'error')}, cost {money(self.cost)}>"

    @property
    def errors(self) -> list[Result]:
        """The requests that failed."""
        return [result for result in self if not result.ok]

    @property
    def cost(self) -> float:
        """US dollars spent on these results (those of unknown price count as 0)."""
        return sum(result.cost or 0.0 for result in self)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for result in self:
            total = total + result.usage
        return total

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per result: custom_id, metadata keys (dict metadata) or `metadata`, then ok, text,
        response, error, prompt_tokens, cached_tokens, completion_tokens, cost and attempts."""
        return [_record(result) for result in self]

    def to_pandas(self):
        """A pandas DataFrame of `to_records()`; needs pandas (`pip install pandas`)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("Results.to_pandas() needs pandas, which is not installed: pip install pandas") from None
        return pandas.DataFrame.from_records(self.to_records())


def _record(result: Result) -> dict[str, Any]:
    values = {
        "custom_id": result.custom_id, "ok": result.ok, "text": result.text, "response": result.response,
        "error": (result.error or {}).get("message") if result.error is not None else None,
        "prompt_tokens": result.usage.prompt_tokens, "cached_tokens": result.usage.cached_tokens,
        "completion_tokens": result.usage.completion_tokens, "cost": result.cost, "attempts": result.attempts,
    }
    meta = result.metadata
    if isinstance(meta, dict):
        fields = {(f"metadata.{key}" if key in values else str(key)): value for key, value in meta.items()}
    else:
        fields = {} if meta is None else {"metadata": meta}
    return {"custom_id": result.custom_id, **fields, **values}
