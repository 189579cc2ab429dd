"""The state file on disk: private permissions, the SQLite header check, backups for --fresh."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import EXIT_STOPPED, Problem, UserError
from .schema import state_error

SQLITE_HEADER = b"SQLite format 3\x00"
SIDECARS = ("-wal", "-shm")
"""SQLite's write-ahead log and shared-memory index, named after the database file."""

PRIVATE = 0o600


def create_private(path: Path) -> None:
    """Create an empty file readable by its owner only (an empty file is a valid new SQLite database)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)  # the umask may only narrow the mode; make it exact
    finally:
        os.close(fd)


def make_sidecars_private(path: Path) -> None:
    """SQLite gives -wal/-shm the database's mode; enforce it in case the file was loosened since."""
    for suffix in SIDECARS:
        sidecar = Path(f"{path}{suffix}")
        if sidecar.exists():
            os.chmod(sidecar, PRIVATE)


def check_header(path: Path) -> bool:
    """True if `path` holds an SQLite database, False if it is empty (a new file).

    Raises UserError for anything else, so that a file that is not ours is never overwritten.
    """
    try:
        with open(path, "rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise state_error(path, f"cannot read the state file {path}", exc.strerror or str(exc),
                          "point `state:` in the project file at a file you can write") from exc
    if not head:
        return False
    if head != SQLITE_HEADER:
        raise state_error(path, f"{path} is not an oaib-tui state file", "it is not an SQLite database")
    return True


def move_aside(path: Path, now: float | None = None) -> Path | None:
    """Rename the state file (and its -wal/-shm) to a timestamped backup; None if there was no file."""
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    backup = _free_name(path, stamp)
    # The sidecars first: a crash half-way leaves the main file in place, never a main file without its log.
    for suffix in SIDECARS:
        sidecar = Path(f"{path}{suffix}")
        if sidecar.exists():
            os.replace(sidecar, f"{backup}{suffix}")
    os.replace(path, backup)
    return backup


def _free_name(path: Path, stamp: str) -> Path:
    candidate = path.with_name(f"{path.stem}.backup-{stamp}{path.suffix}")
    number = 2
    while any(Path(f"{candidate}{s}").exists() for s in ("", *SIDECARS)):
        candidate = path.with_name(f"{path.stem}.backup-{stamp}-{number}{path.suffix}")
        number += 1
    return candidate


class StateFileLost(UserError):
    """The state file was deleted or replaced under a live run: nothing more can be recorded."""

    exit_code = EXIT_STOPPED


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file now at `path`, None if there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def state_file_lost(path: Path) -> StateFileLost:
    what = "was deleted" if not path.exists() else "was replaced by another file"
    return StateFileLost(f"the state file {path} {what} during the run",
                         [Problem("nothing more can be recorded, so the run stopped sending", file=str(path),
                                  hint="answers already received are in the old file if you kept it; "
                                       "run again to send what is not recorded")])
