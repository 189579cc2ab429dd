"""The bad-input corpus: broken projects and sources, each with the exact message it must give.

One folder per case under `cases/`: `project.yaml`, its data, and
`expected.txt`, the exact stderr of `oaib-tui validate project.yaml` (run in
the case's folder, so that paths print relative). `args.txt`, if present,
replaces the arguments. Data too big or too odd for git (50 MB in one line,
binary garbage, files that cannot be opened) is made at test time by
GENERATED. Every case must exit with code 2 and print no traceback.

To write `expected.txt` anew after a deliberate change of wording, run the
test with OAIB_WRITE_EXPECTED=1, then read every diff before committing it.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from oaib_tui import cli
from oaib_tui.errors import EXIT_BAD_INPUT

CASES = Path(__file__).resolve().parent / "cases"
FIFTY_MB = 50 * 1024 * 1024


def binary_garbage(name: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / name).write_bytes(random.Random(name).randbytes(64 * 1024))

    return write


def line_of_50mb(folder: Path) -> None:
    """One JSON record of 50 MB whose closing brace is missing."""
    with open(folder / "data.jsonl", "w") as out:
        out.write('{"question": "')
        out.write("x" * FIFTY_MB)
        out.write('"\n')


def looping_link(name: str) -> Callable[[Path], None]:
    """A file nobody can open, root included: a symbolic link to itself."""

    def write(folder: Path) -> None:
        os.symlink(name, folder / name)

    return write


def dangling_link(name: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        os.symlink("gone-" + name, folder / name)

    return write


def fifo(name: str) -> Callable[[Path], None]:
    """A named pipe nobody writes to: opening it to read would block forever."""

    def write(folder: Path) -> None:
        (folder / name).unlink(missing_ok=True)
        os.mkfifo(folder / name)

    return write


def hard_link(target: str, name: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        os.link(folder / target, folder / name)

    return write


def alias_bomb(folder: Path) -> None:
    """One 200 KB string behind 50,000 aliases: 0.8 MB of YAML, 10 GB once expanded."""
    text = (folder / "project.yaml").read_text()
    aliases = ", ".join(f"k{i}: *big" for i in range(50_000))
    (folder / "project.yaml").write_text(f"padding: &big {'x' * 200_000}\nmore: {{{aliases}}}\n{text}")


GENERATED: dict[str, Callable[[Path], None]] = {
    "source-is-a-fifo": fifo("data.jsonl"),
    "project-is-a-fifo": fifo("project.yaml"),
    "results-hard-link-to-source": hard_link("data.jsonl", "link.jsonl"),
    "alias-bomb": alias_bomb,
    "binary-garbage-source": binary_garbage("data.jsonl"),
    "binary-garbage-project": binary_garbage("project.yaml"),
    "line-of-50mb": line_of_50mb,
    "unreadable-source": looping_link("data.jsonl"),
    "dangling-link-source": dangling_link("data.jsonl"),
    "unreadable-project-file": looping_link("project.yaml"),
}


def case_names() -> list[str]:
    return sorted(path.name for path in CASES.iterdir() if path.is_dir())


def test_every_case_has_its_expected_message_and_every_generator_its_case():
    names = case_names()
    assert len(names) >= 40
    assert all((CASES / name / "expected.txt").exists() for name in names), "a case without expected.txt"
    assert set(GENERATED) <= set(names)


@pytest.mark.parametrize("name", case_names())
def test_validate_says_exactly_what_is_wrong(name, tmp_path, monkeypatch, capsys):
    folder = tmp_path / name
    shutil.copytree(CASES / name, folder, ignore=shutil.ignore_patterns("expected.txt"))
    if name in GENERATED:
        GENERATED[name](folder)
    args = (folder / "args.txt").read_text().split() if (folder / "args.txt").exists() else ["project.yaml"]
    monkeypatch.chdir(folder)
    with pytest.raises(SystemExit) as exit:
        cli.main(["validate", *args])
    stderr = capsys.readouterr().err
    expected_path = CASES / name / "expected.txt"
    if os.environ.get("OAIB_WRITE_EXPECTED"):
        expected_path.write_text(stderr)
    assert exit.value.code == EXIT_BAD_INPUT, stderr
    assert "Traceback" not in stderr
    assert stderr == expected_path.read_text()
