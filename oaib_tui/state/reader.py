"""Reading the state file: resume keys, counts, totals, results in source order, one item's detail.

A :class:`StateReader` opened with :meth:`StateReader.open_readonly` takes no
lock, so `export` and `status` work while a run holds the file (SQLite's WAL
mode lets readers see every committed write without blocking the writer).
"""

from __future__ import annotations

import functools
import heapq
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .. import jsonfast
from ..errors import UserError
from ..events import Usage
from .files import check_header
from .schema import (
    FINISHED,
    STATUSES,
    check_project,
    check_version,
    read_duplicates,
    read_version,
    state_error,
)

UINT64_MASK = (1 << 64) - 1
T = TypeVar("T")


@dataclass(frozen=True)
class Totals:
    """Sums over every item in the state file."""

    usage: Usage
    cost_usd: float
    unpriced: int
    """Finished items whose cost is unknown (the model has no price)."""
    attempts: int
    first_sent_at: float | None
    last_finished_at: float | None
    duplicates: int = 0
    """Answers paid for but discarded (hybrid mode: a second lane answered an item already done)."""
    duplicate_cost_usd: float = 0.0
    """What they cost: included in `cost_usd`, as it was paid."""


def unreadable(path: Path, exc: sqlite3.DatabaseError) -> UserError:
    """The UserError for a query that failed, most often because the file is damaged."""
    return state_error(path, f"cannot read the state file {path}", f"SQLite says: {exc}",
                       "if the file is damaged, run with --fresh to start over (the old file is kept as a backup)")


class DamagedRow(ValueError):
    """A stored JSON payload that does not parse: the file was damaged or edited by hand."""


def damaged(path: Path, detail: str) -> UserError:
    return state_error(path, f"the state file {path} is damaged", detail,
                       "nothing was written; run with --fresh to start over (the old file is kept as a backup)")


def _reading(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def guarded(self: StateReader, *args: Any, **kwargs: Any) -> T:
        try:
            self._before_read()
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise unreadable(self.path, exc) from exc
        except DamagedRow as exc:
            raise damaged(self.path, str(exc)) from None

    return guarded


_RESULT_COLUMNS = """i.custom_id, i.seq, i.source, i.line, i.status, i.attempts, i.prompt_tokens,
    i.cached_tokens, i.completion_tokens, i.cost_usd, i.latency_s, i.first_sent_at, i.finished_at,
    i.last_reason, i.body_hash, i.tier, p.keep, p.response, p.error"""

_RESULTS_BY_STATUS = f"""SELECT {_RESULT_COLUMNS} FROM items i LEFT JOIN payloads p ON p.item = i.id
    WHERE i.status = ? ORDER BY i.seq"""

# Walks the (status, seq) index, so each status comes in seq order without a sort.
_ROWS_BY_STATUS = """SELECT seq, custom_id, status, attempts, latency_s, prompt_tokens, completion_tokens,
    cost_usd, last_reason, tier FROM items WHERE status = ? AND seq > ? ORDER BY seq"""

Row = tuple[int, str, str, int, "float | None", "int | None", "int | None", "float | None", "str | None", "str | None"]
"""(seq, custom_id, status, attempts, latency_s, prompt_tokens, completion_tokens, cost_usd, last_reason, tier)"""


class StateReader:
    """Queries on an open state file. Use from one thread; close when done (or use `with`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, meta: dict[str, Any]) -> None:
        self.conn = conn
        self.path = path
        self.meta = meta

    @classmethod
    def open_readonly(cls, path: Path | str, *, project_name: str | None = None) -> StateReader:
        """Open an existing state file for reading only; no lock is taken.

        Raises UserError if there is no state file yet, or if it is not ours
        (wrong project when `project_name` is given, other schema, damaged).
        """
        path = Path(path)
        if not path.exists() or not check_header(path):
            raise state_error(path, f"there is no state file at {path} yet", "nothing has run for this project",
                              "run the project first, or check `state:` in the project file")
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
        try:
            version, meta = read_version(conn, path)
            if meta is None:
                raise state_error(path, f"there is no state file at {path} yet", "the file is empty",
                                  "run the project first")
            check_version(path, version, can_upgrade=False)
            if project_name is not None:
                check_project(path, meta, project_name)
        except BaseException:
            conn.close()
            raise
        return StateReader(conn, path, meta)

    def __enter__(self) -> StateReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        self.conn.close()

    def _before_read(self) -> None:
        """A hook for the writing subclass, which commits what is pending so that reads see it."""

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside the block all see the file as it was at its first read (a live run may commit meanwhile)."""
        self._before_read()
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def check_integrity(self) -> None:
        """Raise UserError if SQLite finds the file damaged (a full check: reads every page)."""
        try:
            problems = [row[0] for row in self.conn.execute("PRAGMA integrity_check(5)")]
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, f"SQLite says: {exc}") from None
        if problems != ["ok"]:
            raise damaged(self.path, "SQLite's integrity check says: " + "; ".join(problems))

    @property
    def project_name(self) -> str:
        return str(self.meta.get("project_name"))

    @_reading
    def stored_fingerprint(self) -> str | None:
        """The request fingerprint the stored `input_key`s were computed with."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        return row[0] if row else None

    def fingerprint_matches(self, fingerprint: str) -> bool:
        """Whether the file was written by the same request plan: then finished lines are skipped by key (fast)."""
        return self.stored_fingerprint() == fingerprint

    @_reading
    def finished_input_keys(self, statuses: Iterable[str] = FINISHED) -> set[int]:
        """`input_key`s of items in `statuses` (done and failed by default: a plain resume sends neither).

        Keys come back as unsigned 64-bit ints, whatever sign they were handed in with.
        """
        wanted = tuple(statuses)
        rows = self.conn.execute(f"SELECT input_key FROM items WHERE status IN ({_marks(wanted)})", wanted)
        return {key & UINT64_MASK for (key,) in rows}

    @_reading
    def finished_status(self, custom_id: str, body_hash: str) -> str | None:
        """`done` or `failed` if the item finished with this very request body, else None."""
        row = self.conn.execute(
            "SELECT status FROM items WHERE custom_id = ? AND body_hash = ? AND status IN ('done', 'failed')",
            (custom_id, body_hash),
        ).fetchone()
        return row[0] if row else None

    @_reading
    def counts(self) -> dict[str, int]:
        """Items by status; every status is present, zero or not."""
        counts = dict.fromkeys(STATUSES, 0)
        counts.update(self.conn.execute("SELECT status, count(*) FROM items GROUP BY status"))
        return counts

    @_reading
    def totals(self) -> Totals:
        """Token and cost sums, attempts, and the first and last times, over all items."""
        row = self.conn.execute(
            """SELECT total(prompt_tokens), total(cached_tokens), total(completion_tokens), total(cost_usd),
                      count(*) FILTER (WHERE status = 'done' AND cost_usd IS NULL),
                      total(attempts), min(first_sent_at), max(finished_at)
               FROM items"""
        ).fetchone()
        prompt, cached, completion, cost, unpriced, attempts, first, last = row
        duplicates, duplicate_cost = read_duplicates(self.conn)
        return Totals(Usage(int(prompt), int(cached), int(completion)), cost + duplicate_cost, unpriced, int(attempts),
                      first, last, duplicates, duplicate_cost)

    def iter_results(self, status: str | Iterable[str]) -> Iterator[dict[str, Any]]:
        """Items of one status (or several, merged) in source order, as dicts (see `_result`)."""
        statuses = [status] if isinstance(status, str) else list(status)
        self._before_read()
        streams = [self._iter_status(one) for one in statuses]
        if len(streams) == 1:
            return streams[0]
        return heapq.merge(*streams, key=lambda result: (result["seq"], result["custom_id"]))

    def _iter_status(self, status: str) -> Iterator[dict[str, Any]]:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        try:
            for row in self.conn.execute(_RESULTS_BY_STATUS, (status,)):
                yield _result(row)
        except sqlite3.DatabaseError as exc:
            raise unreadable(self.path, exc) from exc
        except DamagedRow as exc:
            raise damaged(self.path, str(exc)) from None

    def iter_rows(self, after_seq: int = -1, statuses: Iterable[str] = FINISHED) -> Iterator[Row]:
        """The request list's columns of items in `statuses` whose seq is above `after_seq`, in seq order.

        Reads the small `items` columns only (never payloads), so a million rows stream quickly.
        """
        wanted = list(statuses)
        for status in wanted:
            if status not in STATUSES:
                raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        self._before_read()
        streams = [self._iter_rows(status, after_seq) for status in wanted]
        if len(streams) == 1:
            return streams[0]
        return heapq.merge(*streams, key=lambda row: (row[0], row[1]))

    def _iter_rows(self, status: str, after_seq: int) -> Iterator[Row]:
        try:
            yield from self.conn.execute(_ROWS_BY_STATUS, (status, after_seq))
        except sqlite3.DatabaseError as exc:
            raise unreadable(self.path, exc) from exc

    @_reading
    def item(self, custom_id: str) -> dict[str, Any] | None:
        """Everything about one item, for the detail view: the result fields plus `request` and `retries`."""
        row = self.conn.execute(
            f"SELECT {_RESULT_COLUMNS}, p.request, i.id FROM items i LEFT JOIN payloads p ON p.item = i.id"
            " WHERE i.custom_id = ?",
            (custom_id,),
        ).fetchone()
        if row is None:
            return None
        detail = _result(row[:-2])
        detail["request"] = _load(row[-2])
        detail["retries"] = [
            {"attempt": a, "at": at, "reason": r, "status_code": code, "delay_s": d, "message": m}
            for a, at, r, code, d, m in self.conn.execute(
                "SELECT attempt, at, reason, status_code, delay_s, message FROM retries WHERE item = ? ORDER BY rowid",
                (row[-1],),
            )
        ]
        return detail


def _result(row: tuple) -> dict[str, Any]:
    (custom_id, seq, source, line, status, attempts, prompt, cached, completion, cost, latency,
     first_sent, finished, last_reason, body_hash, tier, keep, response, error) = row
    return {
        "custom_id": custom_id, "seq": seq, "source": source, "line": line, "status": status,
        "attempts": attempts, "keep": _load(keep) or {}, "response": _load(response), "error": _load(error),
        "usage": {"prompt_tokens": prompt or 0, "cached_tokens": cached or 0, "completion_tokens": completion or 0},
        "cost_usd": cost, "latency_s": latency, "first_sent_at": first_sent, "finished_at": finished,
        "last_reason": last_reason, "body_hash": body_hash, "tier": tier,
    }


def _load(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return jsonfast.loads(text)
    except ValueError:
        raise DamagedRow(f"a stored payload is not valid JSON: {text[:60]!r}") from None


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" * len(values))
