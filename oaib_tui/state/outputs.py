"""Output files from the state file: results and errors as JSON lines, and a CSV export.

Every file is written to a temporary file in the same folder, synced, then
renamed over the old one: a crash leaves the previous file or the new one,
never a truncated line. Reading needs no lock, so this works during a run.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from .. import jsonfast, testhooks
from ..errors import Problem, UserError
from .reader import StateReader, damaged

RESERVED_KEYS = ("custom_id", "response", "error", "usage", "cost_usd", "attempts")
"""Keys of a result line; a kept source field with one of these names is left out of the line."""

CSV_COLUMNS = ("custom_id", "status", "answer", "prompt_tokens", "cached_tokens", "completion_tokens",
               "cost_usd", "attempts", "error")


@dataclass(frozen=True)
class OutputCounts:
    results: int
    errors: int


def write_outputs(store: StateReader, results_path: Path | str, errors_path: Path | str, *,
                  keep: Sequence[str] | None = None) -> OutputCounts:
    """Write one JSON line per done item to `results_path` and per failed item to `errors_path`.

    Lines follow source order and hold the custom_id, the kept source fields
    (all stored ones, or only those named in `keep`), then the response body,
    usage, cost and attempts (results) or the error and attempts (errors).
    Both files are replaced or neither: any error, a count that disagrees with
    the state file's included, leaves the old files as they were.
    """
    with (store.snapshot(), atomic_text(Path(results_path)) as results_out,
          atomic_text(Path(errors_path)) as errors_out):
        expected = store.counts()
        results = _write_lines(results_out, (_result_line(r, keep) for r in store.iter_results("done")))
        errors = _write_lines(errors_out, (_error_line(r, keep) for r in store.iter_results("failed")))
        _check_complete(store, {"done": results, "failed": errors}, expected)
    return OutputCounts(results, errors)


def _check_complete(store: StateReader, written: dict[str, int], expected: dict[str, int]) -> None:
    """A damaged index can make a query skip rows silently: never replace a file with fewer lines than items."""
    short = {status: count for status, count in written.items() if count != expected[status]}
    if short:
        detail = ", ".join(f"{written[s]:,} of {expected[s]:,} {s} items readable" for s in short)
        raise damaged(store.path, detail)


def export_csv(store: StateReader, out: Path | str | TextIO, *, keep: Sequence[str] | None = None,
               statuses: Sequence[str] = ("done", "failed", "queued", "sent")) -> int:
    """Write every item in `statuses` as a flat CSV row in source order; returns the row count.

    Columns: custom_id, status, the kept fields (`keep`, else those of the
    first item), the answer text (chat, responses, completions), usage, cost,
    attempts and the error message. `out` is a path (written atomically) or an open text file.
    """
    if isinstance(out, (str, Path)):
        with atomic_text(Path(out)) as file:
            return export_csv(store, file, keep=keep, statuses=statuses)
    with store.snapshot():
        expected = store.counts()
        count = _write_csv(store, out, keep, statuses)
    _check_complete(store, {"rows": count}, {"rows": sum(expected[status] for status in statuses)})
    return count


def _write_csv(store: StateReader, out: TextIO, keep: Sequence[str] | None, statuses: Sequence[str]) -> int:
    rows = store.iter_results(statuses)
    first = next(rows, None)
    fields = list(keep) if keep is not None else list(first["keep"]) if first else []
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS[:2], *fields, *CSV_COLUMNS[2:]])
    count = 0
    for result in itertools.chain([first] if first else [], rows):
        writer.writerow(_csv_row(result, fields))
        count += 1
    return count


def prepare_folders(*paths: Path) -> None:
    """Create the folders the files `paths` go in; raises UserError if one cannot be."""
    for path in paths:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise cannot_write(path, exc) from None


def cannot_write(path: Path, exc: OSError) -> UserError:
    """The UserError for an output file that cannot be written: a full disk, a file in the way, …"""
    in_the_way = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if in_the_way:
        reason, fix = f"{in_the_way} is a file, not a folder", "move that file or point `output:` elsewhere"
    else:
        reason, fix = exc.strerror or str(exc), "free some disk space or point `output:` at a folder you can write"
    hint = f"{fix}; every result is kept in the state file, and `oaib-tui export PROJECT` writes the files again"
    return UserError(f"cannot write {path}", [Problem(reason, file=str(path), hint=hint)])


@contextmanager
def atomic_text(path: Path) -> Iterator[TextIO]:
    """A text file that replaces `path` only if the block ends without error (temp file, fsync, rename).

    An OSError (a full disk, a file where the folder should be) is raised as a UserError.
    """
    prepare_folders(path)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        # Answers may be private: owner only, or narrower if the umask says so.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise cannot_write(path, exc) from exc
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)  # makes the rename itself durable
    finally:
        os.close(fd)


def _write_lines(out: TextIO, lines: Iterator[dict[str, Any]]) -> int:
    count = 0
    for line in lines:
        out.write(_json_line(line) + "\n")
        count += 1
        if testhooks.ARMED:  # crash tests only: stop with part of the file on disk
            out.flush()
            testhooks.pause_point("output-line")
    return count


def _json_line(line: dict[str, Any]) -> str:
    cost = line.get("cost_usd")
    if cost is not None and not math.isfinite(cost):  # orjson would write a plain NaN or Infinity as null
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))
    return jsonfast.dumps_line(line)


def _kept(result: dict[str, Any], keep: Sequence[str] | None) -> dict[str, Any]:
    stored = result["keep"]
    names = stored.keys() if keep is None else keep
    return {name: stored.get(name) for name in names if name not in RESERVED_KEYS}


def _result_line(result: dict[str, Any], keep: Sequence[str] | None) -> dict[str, Any]:
    return {"custom_id": result["custom_id"], **_kept(result, keep), "response": result["response"],
            "usage": result["usage"], "cost_usd": result["cost_usd"], "attempts": result["attempts"]}


def _error_line(result: dict[str, Any], keep: Sequence[str] | None) -> dict[str, Any]:
    return {"custom_id": result["custom_id"], **_kept(result, keep), "error": result["error"],
            "attempts": result["attempts"]}


def _csv_row(result: dict[str, Any], fields: list[str]) -> list[Any]:
    usage, error = result["usage"], result["error"] or {}
    kept = [_cell(result["keep"].get(name)) for name in fields]
    return [result["custom_id"], result["status"], *kept, answer_text(result["response"]) or "",
            usage["prompt_tokens"], usage["cached_tokens"], usage["completion_tokens"],
            decimal_text(result["cost_usd"]), result["attempts"], error.get("message") or ""]


def decimal_text(value: float | None) -> str:
    """A number as a spreadsheet reads it: `0.0000643`, never `6.43e-05`; empty for None."""
    if value is None:
        return ""
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def answer_text(response: Any) -> str | None:
    """The generated text of a chat, responses or completions answer; None for other bodies."""
    if not isinstance(response, dict):
        return None
    if isinstance(response.get("output_text"), str):
        return response["output_text"]
    if isinstance(response.get("output"), list):
        return _responses_text(response["output"])
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    choice = choices[0]
    if isinstance(choice.get("message"), dict):
        return _content_text(choice["message"].get("content"))
    text = choice.get("text")
    return text if isinstance(text, str) else None


def _responses_text(output: list[Any]) -> str | None:
    parts = [part.get("text", "") for item in output if isinstance(item, dict) and item.get("type") == "message"
             for part in item.get("content") or [] if isinstance(part, dict) and part.get("type") == "output_text"]
    return "".join(parts) if parts else None


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(parts) if parts else None
    return None
