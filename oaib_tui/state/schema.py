"""The state file's tables, how a new file is set up and how an older one is upgraded.

The schema version lives in `PRAGMA user_version` (and, for people reading the
file with the sqlite3 shell, in the `meta` table). `MIGRATIONS[n]` lists the
statements that take a file from version n to n + 1; a new file is simply
migrated from version 0, so new and upgraded files can never differ. To change
the schema, append a step (e.g. `CREATE TABLE batches …`) and never edit an old one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..errors import Problem, UserError

STATUSES = ("queued", "sent", "done", "failed")
FINISHED = ("done", "failed")

# Items keep only small columns, so that scans for counts, totals and resume
# keys stay fast at millions of rows; the big JSON texts live in `payloads`.
_V1 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value NOT NULL)",
    """CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        custom_id TEXT NOT NULL UNIQUE,
        seq INTEGER NOT NULL,
        source TEXT NOT NULL,
        line INTEGER NOT NULL,
        body_hash TEXT NOT NULL,
        input_key INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        first_sent_at REAL,
        finished_at REAL,
        latency_s REAL,
        prompt_tokens INTEGER,
        cached_tokens INTEGER,
        completion_tokens INTEGER,
        cost_usd REAL,
        last_reason TEXT
    )""",
    # Covers counts by status, the resume keys of finished items, and results in source order.
    "CREATE INDEX items_by_status ON items (status, seq, input_key)",
    """CREATE TABLE payloads (
        item INTEGER PRIMARY KEY,
        request TEXT,
        keep TEXT,
        response TEXT,
        error TEXT
    )""",
    """CREATE TABLE retries (
        item INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        at REAL NOT NULL,
        reason TEXT NOT NULL,
        status_code INTEGER,
        delay_s REAL,
        message TEXT
    )""",
    "CREATE INDEX retries_by_item ON retries (item)",
    # An item whose request changed is forgotten and inserted anew; its payload and history go with it.
    """CREATE TRIGGER items_forget AFTER DELETE ON items BEGIN
        DELETE FROM payloads WHERE item = old.id;
        DELETE FROM retries WHERE item = old.id;
    END""",
)

# Batch mode: one row per batch-input file ("part") and its remote batch, and each item's part.
# `phase` is how far the part got locally; every remote step is recorded as intended before it
# is taken (`intent_at`), so that a resumed run can look for what a crash left unrecorded.
_V2 = (
    """CREATE TABLE batches (
        part INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        url TEXT NOT NULL,
        round INTEGER NOT NULL DEFAULT 1,
        requests INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        tokens INTEGER NOT NULL,
        worst_cost_usd REAL NOT NULL DEFAULT 0,
        filename TEXT NOT NULL,
        local_path TEXT,
        phase TEXT NOT NULL CHECK (phase IN
            ('written', 'uploading', 'uploaded', 'creating', 'submitted', 'ended', 'downloaded')),
        intent_at REAL,
        input_file_id TEXT,
        batch_id TEXT,
        status TEXT,
        total INTEGER NOT NULL DEFAULT 0,
        completed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        created_at REAL,
        expires_at REAL,
        ended_at REAL,
        output_file_id TEXT,
        error_file_id TEXT,
        errors TEXT,
        refusals INTEGER NOT NULL DEFAULT 0,
        cleaned INTEGER NOT NULL DEFAULT 0
    )""",
    "ALTER TABLE items ADD COLUMN batch INTEGER",
    "CREATE INDEX items_by_batch ON items (batch) WHERE batch IS NOT NULL",
)

# Service tiers: the tier each answer was charged at (`standard`, `flex`, `priority`, `batch`), NULL until
# answered and for answers recorded before version 3 (they were all priced as standard, or batch in a part).
_V3 = (
    "ALTER TABLE items ADD COLUMN tier TEXT",
)

MIGRATIONS: list[tuple[str, ...]] = [_V1, _V2, _V3]
"""`MIGRATIONS[n]` upgrades a file from schema version n to n + 1."""

SCHEMA_VERSION = len(MIGRATIONS)

_FRESH_HINT = "run with --fresh to start over (the old file is kept as a backup), or point `state:` elsewhere"


def state_error(path: Path, title: str, message: str, hint: str = _FRESH_HINT) -> UserError:
    """A UserError about the state file at `path`."""
    return UserError(title, [Problem(message, file=str(path), hint=hint)])


def read_version(conn: sqlite3.Connection, path: Path) -> tuple[int, dict[str, Any] | None]:
    """The file's schema version and meta rows; meta is None for a file with no tables yet.

    Raises UserError for a file that is damaged or is some other SQLite database.
    """
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and not tables:
            return 0, None
        if version == 0 or "meta" not in tables:
            raise state_error(path, f"{path} is not an oaib-tui state file",
                              "it is an SQLite database with other tables")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        raise state_error(path, f"the state file {path} is damaged", f"SQLite says: {exc}") from exc
    return version, meta


def check_version(path: Path, version: int, *, can_upgrade: bool) -> None:
    """Refuse a file from a newer oaib-tui, or an older one when we cannot upgrade it."""
    if version > SCHEMA_VERSION:
        raise state_error(path, f"the state file {path} was written by a newer oaib-tui",
                          f"its schema version is {version}; this oaib-tui reads up to version {SCHEMA_VERSION}",
                          "upgrade oaib-tui, or " + _FRESH_HINT)
    if version < SCHEMA_VERSION and not can_upgrade:
        raise state_error(path, f"the state file {path} has an older schema (version {version})",
                          f"this oaib-tui uses version {SCHEMA_VERSION}",
                          "run the project once (`oaib-tui run`) to upgrade the file, then try again")


def check_project(path: Path, meta: dict[str, Any], project_name: str) -> None:
    """Refuse a state file that another project wrote."""
    stored = meta.get("project_name")
    if stored != project_name:
        where = meta.get("project_path") or "an unknown project file"
        raise state_error(path, f"the state file {path} belongs to another project",
                          f"it was written by project `{stored}` ({where}), not `{project_name}`")


def upgrade(conn: sqlite3.Connection, version: int, meta_updates: dict[str, Any]) -> None:
    """Apply every migration step after `version` and write `meta_updates`, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        write_meta(conn, {**meta_updates, "schema_version": SCHEMA_VERSION})
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def write_meta(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
    """Insert or replace meta rows (inside the caller's transaction, if any)."""
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        list(values.items()),
    )


DUPLICATE_KEYS = ("duplicate_answers", "duplicate_cost_usd")
"""`meta` keys: answers paid for but discarded (hybrid mode: a second lane answered an item already done)."""


def read_duplicates(conn: sqlite3.Connection) -> tuple[int, float]:
    """The duplicate answers the `meta` table counts, and what they cost."""
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)", DUPLICATE_KEYS).fetchall())
    return int(meta.get(DUPLICATE_KEYS[0], 0)), float(meta.get(DUPLICATE_KEYS[1], 0.0))
