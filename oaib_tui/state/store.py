"""The state store: the consumer of engine events that makes every run resumable.

One run at a time holds a state file (see :mod:`.lock`). Every answered or
failed request is committed before `handle` returns, so a run stopped at any
moment — Ctrl-C, a crash, `kill -9` — never pays twice for an answer it had
recorded. Cheaper bookkeeping (queued, sent, retries) rides along with the
next commit: losing it costs nothing, the next run queues those items again.

`stage` records an answer without committing it, for a caller that commits
several at once and reports none before its commit (see :mod:`.group_commit`).
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..events import DuplicateAnswer, Event, RequestQueued, RequestSent, RequestSucceeded, RunFinished
from ..testhooks import pause_point
from . import schema
from .files import check_header, create_private, file_identity, make_sidecars_private, move_aside, state_file_lost
from .lock import RunLock
from .reader import StateReader
from .recording import COMMIT_AT_ONCE, RECIPES, FirstTryDone, count_duplicate, signed64
from .schema import (
    check_project,
    check_version,
    read_version,
    state_error,
    upgrade,
    write_meta,
)

T = TypeVar("T")

DEFAULT_MAX_PENDING = 2000
"""Bookkeeping events held before a commit is forced, which bounds memory when no answers arrive."""
DEFERRED_MAX_PENDING = 10_000
"""Events held within `deferred_commits`: fewer, larger commits, as results stream in from a batch file."""
HOLD_IN_FLIGHT_S = 1.0
"""How long `commit_answers` keeps an unanswered item's bookkeeping back, waiting to write it with its answer."""


class _Fresh:
    """A realtime item's RequestQueued (as rows) and its first RequestSent, not yet written."""

    __slots__ = ("held_at", "rows", "sent")

    def __init__(self, rows: list[tuple], held_at: float) -> None:
        self.rows, self.held_at = rows, held_at
        self.sent: RequestSent | None = None


class StateStore(StateReader):
    """The state file of one run, locked, written from the engine's events.

    Its read methods (counts, item, iter_results …) first commit what is
    pending, so they always include every event handled so far.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, meta: dict[str, Any], lock: RunLock, *,
                 fingerprint: str, backup_path: Path | None, clock: Callable[[], float], max_pending: int) -> None:
        super().__init__(conn, path, meta)
        self.fingerprint = fingerprint
        self.backup_path = backup_path
        """Where `fresh=True` moved the old file, or None."""
        self._lock = lock
        self._clock = clock
        self._max_pending = max_pending
        # Runs of same-type events not yet committed: (event type, for each statement of its
        # recipe the parameter rows to execute).
        self._segments: list[tuple[type, list[list[tuple]]]] = []
        self._pending = 0
        self._fresh: dict[str, _Fresh] = {}
        """Realtime items queued and maybe sent, not yet written: see `stage`. At most `concurrency` of them."""
        self.answers_waiting = 0
        """Answers (and failures) handled but not yet committed."""
        self._deferring = 0  # open deferred_commits() blocks
        self.identity = file_identity(path)
        """The state file this run opened, so a deleted or replaced file is noticed before the next commit."""

    @classmethod
    def open(cls, path: Path | str, *, project_name: str, project_path: str, fingerprint: str,
             fresh: bool = False, clock: Callable[[], float] = time.time,
             max_pending: int = DEFAULT_MAX_PENDING) -> StateStore:
        """Lock the state file and open it, creating it (and its folder) if missing.

        `fresh=True` first moves an existing file aside as a timestamped backup
        (`backup_path`). Raises UserError if another run holds the file, or if
        the file is not SQLite, is damaged, has a newer schema, or belongs to
        another project. An older schema is upgraded in place.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = RunLock.acquire(path)
        except OSError as exc:
            raise _cannot_create(path, exc) from None
        try:
            backup = move_aside(path, clock()) if fresh else None
            conn, meta = _open_for_writing(path, project_name, project_path, fingerprint, clock())
        except BaseException as exc:
            lock.release()
            if isinstance(exc, OSError):
                raise _cannot_create(path, exc) from None
            raise
        return cls(conn, path, meta, lock, fingerprint=fingerprint, backup_path=backup,
                   clock=clock, max_pending=max_pending)

    def handle(self, event: Event) -> None:
        """Record one engine event; answers and failures are committed before this returns."""
        if self.stage(event) and not self._deferring:
            self.commit_answers()

    def stage(self, event: Event) -> bool:
        """Record one engine event, leaving an answer uncommitted; True if it is an answer (or failure).

        The caller must `flush()` before it tells anyone else of that answer: until
        then a crash loses it, and the next run sends it again.

        A realtime item's RequestQueued and first RequestSent wait in memory for its
        answer, which then writes all three at once (FirstTryDone). Whatever else
        happens to the item first (a retry, a failure) writes them as they came.
        """
        kind = type(event)
        if kind not in RECIPES:
            if kind is RunFinished:
                self.flush()
            elif kind is DuplicateAnswer:
                self.write(lambda conn: count_duplicate(conn, event))  # type: ignore[arg-type]
            return False
        recorded: Any = event  # every event with a recipe names its item
        custom_id = recorded.custom_id
        if kind is RequestQueued and recorded.batch is None:
            self._hold(event)  # type: ignore[arg-type]
            return False
        fresh = self._fresh.get(custom_id)
        if fresh is not None:
            if kind is RequestSent and fresh.sent is None:
                fresh.sent = event  # type: ignore[assignment]
                return False
            del self._fresh[custom_id]
            if kind is RequestSucceeded and fresh.sent is not None:
                return self._append(FirstTryDone(fresh.rows, fresh.sent.at, event))  # type: ignore[arg-type]
            self._write_fresh(fresh)
        return self._append(event)

    def _append(self, event: Any) -> bool:
        kind = type(event)
        recipe = RECIPES.get(kind)
        if recipe is None:
            return False
        # Parameters are built now, so that an event that cannot be stored fails here, alone,
        # instead of poisoning the commit of everything pending.
        self._append_rows(kind, [params(event) for _, params in recipe])
        answer = kind in COMMIT_AT_ONCE
        self.answers_waiting += answer
        self._flush_if_too_much()
        return answer

    def _flush_if_too_much(self) -> None:
        if self._pending + len(self._fresh) >= (DEFERRED_MAX_PENDING if self._deferring else self._max_pending):
            self.flush()

    def _append_rows(self, kind: type, rows: list[tuple]) -> None:
        segments = self._segments
        if not segments or segments[-1][0] is not kind:
            segments.append((kind, [[] for _ in rows]))
        for pending, row in zip(segments[-1][1], rows):
            pending.append(row)
        self._pending += 1

    def _hold(self, event: RequestQueued) -> None:
        earlier = self._fresh.pop(event.custom_id, None)
        if earlier is not None:
            self._write_fresh(earlier)
        self._fresh[event.custom_id] = _Fresh([params(event) for _, params in RECIPES[RequestQueued]], self._clock())
        self._flush_if_too_much()

    def _write_fresh(self, fresh: _Fresh) -> None:
        """Write a held item's events as they came."""
        self._append_rows(RequestQueued, fresh.rows)
        if fresh.sent is not None:
            self._append_rows(RequestSent, [params(fresh.sent) for _, params in RECIPES[RequestSent]])

    def _write_held(self, before: float = math.inf) -> None:
        """Write the held items queued before `before` (all of them by default)."""
        fresh = self._fresh
        while fresh:
            custom_id = next(iter(fresh))  # the oldest: held in the order they were queued
            if fresh[custom_id].held_at >= before:
                return
            self._write_fresh(fresh.pop(custom_id))

    @contextmanager
    def deferred_commits(self) -> Iterator[None]:
        """Within the block, answers too are committed in bulk (every DEFERRED_MAX_PENDING events), and all at exit.

        Only for answers that can be fetched again after a crash: results read
        from a batch's output file, which stays on the provider until they are saved.
        """
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        self.flush()

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Commit what is pending, then run `work(conn)` in a transaction of its own."""
        self.flush()
        return self._transaction(lambda: work(self.conn))

    def flush(self) -> None:
        """Commit every event handled so far in one transaction.

        If the commit fails the events stay pending, and the error (a full
        disk, say) is raised as a UserError.
        """
        self._write_held()
        self._commit()

    def commit_answers(self) -> None:
        """Commit what `flush` would, except the items still in flight for less than HOLD_IN_FLIGHT_S.

        Their RequestQueued and RequestSent stay in memory so that their answer writes
        all three at once; older ones are written, so the file shows them as sent.
        """
        self._write_held(before=self._clock() - HOLD_IN_FLIGHT_S)
        self._commit()

    def _commit(self) -> None:
        if not self._segments:
            return
        self.check_still_the_file()

        def write() -> None:
            for kind, rows_per_statement in self._segments:
                for (sql, _), rows in zip(RECIPES[kind], rows_per_statement):
                    self.conn.executemany(sql, rows)
            pause_point("state-commit")  # crash tests only: half-way through a transaction
            write_meta(self.conn, {"updated_at": self._clock()})

        self._transaction(write)
        self._segments.clear()
        self._pending = self.answers_waiting = 0

    def check_still_the_file(self) -> None:
        """Raise StateFileLost if the file at our path is gone or another one: commits would go nowhere."""
        if file_identity(self.path) != self.identity:
            raise state_file_lost(self.path)

    def _before_read(self) -> None:
        self.flush()

    def close(self) -> None:
        """Commit what is pending, close the file and let the next run in; safe to call twice."""
        if not self._lock.held:
            return
        try:
            self.flush()
        finally:
            self.conn.close()
            self._lock.release()

    def requeue_failed(self) -> int:
        """Make every failed item queued again ("retry failed items"); returns how many."""
        self.flush()

        def requeue() -> int:
            self.conn.execute("UPDATE payloads SET error = NULL"
                              " WHERE item IN (SELECT id FROM items WHERE status = 'failed')")
            return self.conn.execute(
                "UPDATE items SET status = 'queued', finished_at = NULL WHERE status = 'failed'"
            ).rowcount

        return self._transaction(requeue)

    def adopt_fingerprint(self, input_keys: Iterable[tuple[str, int]]) -> None:
        """Store this run's fingerprint, with the new `input_key` of each (custom_id, key) given.

        After a fingerprint change, a resume finds finished items by body hash
        (the slow path). Hand this the new keys of every finished item that
        path recognised, and the next resume can take the fast path again.
        Never call it with only some of them: the others would be sent again.
        """
        self.flush()
        # A generator, not a list: after a template edit there may be a million of them.
        rows = ((signed64(key), custom_id) for custom_id, key in input_keys)

        def rekey() -> None:
            self.conn.executemany("UPDATE items SET input_key = ? WHERE custom_id = ?", rows)
            write_meta(self.conn, {"fingerprint": self.fingerprint, "updated_at": self._clock()})

        self._transaction(rekey)

    def _transaction(self, work: Callable[[], T]) -> T:
        self.conn.execute("BEGIN")
        try:
            result = work()
            self.conn.execute("COMMIT")
            return result
        except BaseException as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError):
                raise state_error(self.path, f"cannot write the state file {self.path}", f"SQLite says: {exc}",
                                  "free some disk space or fix the file's permissions, then run again") from exc
            raise


def _cannot_create(path: Path, exc: OSError) -> Exception:
    in_the_way = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    reason = f"{in_the_way} is a file, not a folder" if in_the_way else (exc.strerror or str(exc))
    return state_error(path, f"cannot create the state file {path}", reason,
                       "free some disk space, or point `state:` in the project file at a folder you can write")


def _open_for_writing(path: Path, project_name: str, project_path: str, fingerprint: str,
                      now: float) -> tuple[sqlite3.Connection, dict[str, Any]]:
    if not path.exists():
        create_private(path)
    check_header(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        version, meta = read_version(conn, path)
        if meta is not None:
            check_version(path, version, can_upgrade=True)
            check_project(path, meta, project_name)
        # WAL with synchronous=NORMAL: a commit reaches the OS before it returns, so it survives
        # the death of this process (kill -9 included); only a power cut or OS crash may lose
        # the last few commits, never corrupt the file.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        _initialise(conn, version, meta, project_name, project_path, fingerprint, now)
        make_sidecars_private(path)
        return conn, dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise state_error(path, f"cannot open the state file {path}", f"SQLite says: {exc}") from exc
    except BaseException:
        conn.close()
        raise


def _initialise(conn: sqlite3.Connection, version: int, meta: dict[str, Any] | None, project_name: str,
                project_path: str, fingerprint: str, now: float) -> None:
    if meta is None:
        upgrade(conn, 0, {"project_name": project_name, "project_path": project_path,
                          "fingerprint": fingerprint, "created_at": now, "updated_at": now})
    elif version < schema.SCHEMA_VERSION:
        upgrade(conn, version, {"project_path": project_path, "updated_at": now})
    elif meta.get("project_path") != project_path:
        write_meta(conn, {"project_path": project_path})
