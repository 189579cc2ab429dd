"""User-facing errors: what went wrong, where, and what was expected.

Every error a person can fix (a bad project file, a broken source line, a
state file that belongs to another project) is a :class:`UserError`. The CLI
prints it without a traceback and exits with :data:`EXIT_BAD_INPUT`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_STOPPED = 3
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = ("Exit codes: 0 all answered, 1 some failed, 2 bad input, 3 stopped (budget, quota, auth, "
                   "provider unreachable, state file lost), 130 interrupted or cancelled (Ctrl-C, `c` in the dashboard).")
"""The one wording of the exit codes: `run --help`, the top-level help and the README say this."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input, located as precisely as we know."""

    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    key: str | None = None  # dotted key, e.g. "limits.rpm" or "sources[0].path"
    hint: str | None = None

    def location(self) -> str:
        parts = [self.file or ""]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(p for p in parts if p)

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: " if where else ""
        if self.key:
            text += f"`{self.key}`: "
        text += self.message
        if self.hint:
            text += f" — {self.hint}"
        return text


class UserError(Exception):
    """Bad input from the user; carries every problem found, not just the first."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, title: str, problems: Iterable[Problem] = ()) -> None:
        self.title = title
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        if not self.problems:
            return self.title
        lines = [self.title]
        lines.extend(f"  {p}" for p in self.problems)
        return "\n".join(lines)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A "did you mean `x`?" hint for a misspelt key or name, or None."""
    choices = list(choices)
    same_but_case = [choice for choice in choices if choice.lower() == word.lower()]
    close = same_but_case or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None
