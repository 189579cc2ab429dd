"""Batch mode's records in the state file: parts, their remote batches, and the items each holds.

A part is one batch-input file. Its items point to it (`items.batch`) from the
moment they are written into its file (`RequestQueued.batch`); its row is
written when the file is complete, and from then on it is the part's promise:
every later step (upload, create, poll, download) is recorded before and after
it is taken. Items that point to a part with no row were being written when a
run died: :meth:`BatchLedger.forget_orphans` hands them back to the writer.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from ..parts import Part
from ..redact import redact
from .reader import UINT64_MASK, StateReader
from .store import StateStore

_UNFINISHED = "status NOT IN ('done', 'failed')"
PAGE_CACHE_KIB = 32 * 1024
CHECKPOINT_PAGES = 10_000


_COLUMNS = tuple(f.name for f in fields(Part))


def _row(part: Part) -> tuple:
    values = [getattr(part, name) for name in _COLUMNS]
    values[_COLUMNS.index("errors")] = None if part.errors is None else json.dumps(redact(part.errors))
    return tuple(values)


def _part(row: tuple) -> Part:
    values = dict(zip(_COLUMNS, row))
    values["errors"] = None if values["errors"] is None else json.loads(values["errors"])
    values["cleaned"] = bool(values["cleaned"])
    return Part(**values)


def read_parts(reader: StateReader) -> list[Part]:
    """Every part in the state file, in part order (works on a read-only reader)."""
    reader._before_read()
    rows = reader.conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM batches ORDER BY part")
    return [_part(row) for row in rows]


class BatchLedger:
    """The batch executor's view of the state file: reads, and writes committed before they return."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        # A longer log between checkpoints writes each page back once, not once per bulk commit.
        store.conn.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")
        self._big_cache = False

    def expect_results(self) -> None:
        """Results come back in random order: a page cache that holds a part's rows saves reading them again.

        Asked for at the first download only, so that writing a huge job keeps its memory small.
        """
        if not self._big_cache:
            self.store.conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
            self._big_cache = True

    def parts(self) -> list[Part]:
        return read_parts(self.store)

    @property
    def state_path(self) -> Path:
        """The state file (part files wait beside it)."""
        return self.store.path

    def counts(self) -> dict[str, int]:
        """Items by status."""
        return self.store.counts()

    def fingerprint_matches(self, fingerprint: str) -> bool:
        """Whether the state file was written by the same plan (so finished lines can be skipped by key)."""
        return self.store.fingerprint_matches(fingerprint)

    def deferred_commits(self) -> AbstractContextManager[None]:
        """Many writes, one commit: a whole downloaded file's lines."""
        return self.store.deferred_commits()

    def token(self) -> str:
        """A random tag of this state file, put in uploaded file names so a resumed run can recognise its own."""
        found = self.store.conn.execute("SELECT value FROM meta WHERE key = 'batch_token'").fetchone()
        if found:
            return str(found[0])
        token = secrets.token_hex(4)
        self.store.write(lambda conn: conn.execute("INSERT INTO meta (key, value) VALUES ('batch_token', ?)", (token,)))
        return token

    def forget_orphans(self) -> int:
        """Items written into a part whose row was never committed go back to the writer; returns how many."""
        return self.store.write(lambda conn: conn.execute(
            "UPDATE items SET batch = NULL WHERE batch IS NOT NULL AND batch NOT IN (SELECT part FROM batches)"
        ).rowcount)

    def next_part_number(self) -> int:
        self.store.flush()
        row = self.store.conn.execute(
            "SELECT max(coalesce((SELECT max(part) FROM batches), 0), coalesce((SELECT max(batch) FROM items), 0))"
        ).fetchone()
        return int(row[0]) + 1

    def add(self, part: Part, move: Iterable[str] = ()) -> None:
        """Record a written part; `move` names items taken out of earlier parts into it (a resubmission)."""
        marks = ", ".join("?" * len(_COLUMNS))
        moved = [(part.part, custom_id) for custom_id in move]

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(f"INSERT INTO batches ({', '.join(_COLUMNS)}) VALUES ({marks})", _row(part))
            conn.executemany("UPDATE items SET batch = ? WHERE custom_id = ?", moved)

        self.store.write(insert)

    def update(self, part: Part, **changes: Any) -> Part:
        """Change a part's record; committed before this returns."""
        changed = replace(part, **changes)
        names = list(changes)
        values = [json.dumps(redact(v)) if n == "errors" and v is not None else v for n, v in changes.items()]
        assignments = ", ".join(f"{name} = ?" for name in names)
        self.store.write(lambda conn: conn.execute(f"UPDATE batches SET {assignments} WHERE part = ?",
                                                   (*values, part.part)))
        return changed

    def worst_cost_live(self, *, besides: int) -> float:
        """The most the live batches (being created, or submitted) but part `besides` can still cost."""
        return self.store.conn.execute(
            "SELECT total(worst_cost_usd) FROM batches WHERE phase IN ('creating', 'submitted') AND part != ?",
            (besides,)).fetchone()[0]

    def items_of(self, part: int) -> list[tuple[str, int, str]]:
        """(custom_id, seq, status) of the part's items, in the order of its file's lines."""
        self.store.flush()
        return self.store.conn.execute(
            "SELECT custom_id, seq, status FROM items WHERE batch = ? ORDER BY seq", (part,)).fetchall()

    def request_lines(self, part: int, *, unfinished_only: bool) -> list[tuple[str, str]]:
        """(custom_id, stored request JSON) of the part's items in seq order: what a rebuilt file holds."""
        self.store.flush()
        where = f" AND i.{_UNFINISHED}" if unfinished_only else ""
        return self.store.conn.execute(
            "SELECT i.custom_id, p.request FROM items i JOIN payloads p ON p.item = i.id"
            f" WHERE i.batch = ?{where} ORDER BY i.seq", (part,)).fetchall()

    def unfinished_count(self, parts: Iterable[int]) -> int:
        wanted = list(parts)
        if not wanted:
            return 0
        self.store.flush()
        return self.store.conn.execute(
            f"SELECT count(*) FROM items WHERE batch IN ({', '.join('?' * len(wanted))}) AND {_UNFINISHED}", wanted
        ).fetchone()[0]

    def skip_keys(self) -> set[int]:
        """Input keys of items a fresh pass must not write: finished, or already in a part."""
        self.store.flush()
        rows = self.store.conn.execute(f"SELECT input_key FROM items WHERE NOT {_UNFINISHED} OR batch IS NOT NULL")
        return {key & UINT64_MASK for (key,) in rows}

    def should_skip(self, custom_id: str, body_hash: str) -> bool:
        """The slow path of :meth:`skip_keys`, for a run whose request fingerprint changed."""
        row = self.store.conn.execute(
            f"SELECT 1 FROM items WHERE custom_id = ? AND body_hash = ? AND (NOT {_UNFINISHED} OR batch IS NOT NULL)",
            (custom_id, body_hash)).fetchone()
        return row is not None

    def unfinished_items(self, parts: Iterable[int]) -> tuple[set[int], set[str]]:
        """Input keys and custom_ids of the unfinished items of these parts (for the realtime engine)."""
        keys: set[int] = set()
        ids: set[str] = set()
        self.store.flush()
        for part in parts:
            for custom_id, key in self.store.conn.execute(
                    f"SELECT custom_id, input_key FROM items WHERE batch = ? AND {_UNFINISHED}", (part,)):
                keys.add(key & UINT64_MASK)
                ids.add(custom_id)
        return keys, ids
