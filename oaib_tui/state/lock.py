"""One run per state file: an OS lock on `<state>.lock`.

`flock` locks belong to the open file, so the kernel drops the lock when the
holder exits for any reason, `kill -9` included: there is no stale lock to
clean up. The holder's pid is written into the file only for the message a
second run shows.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import UserError


def lock_path(state_path: Path) -> Path:
    """The lock file that guards `state_path`."""
    return Path(f"{state_path}.lock")


class RunLock:
    """An exclusive, non-blocking lock on a state file, held until `release()`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_path: Path) -> "RunLock":
        """Take the lock, or raise UserError naming the run that holds it."""
        path = lock_path(state_path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise UserError(
                f"{state_path} is in use by another oaib-tui run ({holder}): wait for it to finish or stop it,"
                " or point `state:` in the project file at another file"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

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


def _read_pid(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return f"pid {text}" if text.isdigit() else "pid unknown"
