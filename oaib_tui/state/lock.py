"""One run per state file: an OS lock on `<state>.lock`, and a name held by the live run.

`flock` locks belong to the open file, so the kernel drops the lock when the
holder exits for any reason, `kill -9` included: there is no stale lock to
clean up. The holder's pid is written into the file only for the message a
second run shows.

A lock file can be deleted under a live run (`rm -r` of the state folder), and a
second run would then lock a new file and send everything again. So the run also
binds an abstract Unix socket named after the state file's resolved path: the name
lives in the kernel, not in the folder, dies with the process, and a second run
that cannot bind it knows the first is still alive.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import sys
from pathlib import Path

from ..errors import UserError


def lock_path(state_path: Path) -> Path:
    """The lock file that guards `state_path`."""
    return Path(f"{state_path}.lock")


class RunLock:
    """An exclusive, non-blocking lock on a state file, held until `release()`."""

    def __init__(self, path: Path, fd: int, alive: socket.socket | None) -> None:
        self.path = path
        self._fd: int | None = fd
        self._alive = alive

    @classmethod
    def acquire(cls, state_path: Path) -> RunLock:
        """Take the lock, or raise UserError naming the run that holds it."""
        path = lock_path(state_path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise _in_use(state_path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            alive = _claim_name(state_path)
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd, alive)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Let the next run in; safe to call twice."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.ftruncate(fd, 0)  # no stale pid for anyone to read
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        if self._alive is not None:
            self._alive.close()
            self._alive = None


def _read_pid(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return f"pid {text}" if text.isdigit() else "pid unknown"


def _in_use(state_path: Path, holder: str) -> UserError:
    return UserError(
        f"{state_path} is in use by another oaib-tui run ({holder}): wait for it to finish or stop it,"
        " or point `state:` in the project file at another file"
    )


def _claim_name(state_path: Path) -> socket.socket | None:
    """Bind the live-run name of `state_path`; None where abstract sockets do not exist (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    digest = hashlib.sha256(str(state_path.resolve()).encode()).hexdigest()[:40]
    alive = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        alive.bind(f"\0oaib-tui-run-{digest}")
    except OSError:
        alive.close()
        raise _in_use(state_path, "still alive, though its lock file was removed") from None
    return alive
