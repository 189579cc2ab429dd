"""`oaib-tui render`: the exact Batch-API input files a project would upload, for uploading by hand.

The lines and the split are the batch executor's own (:mod:`.engine.batch_writer`):
one endpoint and one model per file, at most `batch.max_requests` lines and
`batch.max_bytes` bytes (and `batch.max_enqueued_tokens` prompt tokens, if set).
Files are written beside the target and renamed into place only when all are complete.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import tokens
from .batch.writer import LineForm, PartLimits, PartWriter, WrittenPart
from .errors import Problem, UserError
from .project import RequestPlan
from .project.schema import LoadedProject
from .wording import counted

MOST_LISTED = 10


@dataclass(frozen=True)
class RenderedFile:
    path: Path
    url: str
    model: str
    requests: int
    bytes: int


def render_batch_input(project: LoadedProject, output: Path) -> list[RenderedFile]:
    """Write the project's batch-input JSONL to `output` (or `<stem>-001<suffix>`, … when it splits)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        parts = _write_parts(project, staging)
        return [_move(part, target) for part, target in zip(parts, _targets(output, len(parts)))]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_parts(project: LoadedProject, folder: Path) -> list[WrittenPart]:
    spec = project.spec
    enqueued = spec.batch.max_enqueued_tokens
    numbers = iter(range(1, 1 << 62))
    writer = PartWriter(folder, PartLimits(spec.batch.max_requests, spec.batch.max_bytes, enqueued), lambda: next(numbers))
    form = LineForm.of(project)
    too_big: list[Problem] = []
    closed: list[WrittenPart] = []
    try:
        for request in RequestPlan(project):
            model = str(request.body.get("model") or spec.model)
            line = form.line(request.custom_id, request.url, request.body)
            if writer.too_big(line):
                too_big.append(Problem(f"custom_id `{request.custom_id}`: the line is {len(line):,} bytes, over "
                                       f"batch.max_bytes ({spec.batch.max_bytes:,})", file=request.source,
                                       line=request.line))
                continue
            prompt = tokens.prompt_tokens(request.url, request.body, model) if enqueued else 0
            full = writer.add(form.url(request.url), model, line, prompt, 0.0)[1]
            if full is not None:
                closed.append(full)
    except BaseException:
        writer.discard()
        raise
    parts = sorted(closed + writer.close_all(), key=lambda part: part.number)
    if too_big:
        raise UserError(f"{counted(len(too_big), 'request')} cannot go in any batch file", too_big[:MOST_LISTED])
    if not parts:
        raise UserError("nothing to render", [Problem("the sources hold no requests", file=str(project.path))])
    return parts


def _targets(output: Path, count: int) -> list[Path]:
    if count == 1:
        return [output]
    width = max(3, len(str(count)))
    return [output.with_name(f"{output.stem}-{number:0{width}d}{output.suffix}") for number in range(1, count + 1)]


def _move(part: WrittenPart, target: Path) -> RenderedFile:
    part.path.replace(target)
    return RenderedFile(target, part.url, part.model, part.requests, part.bytes)


def describe(files: list[RenderedFile]) -> str:
    """What `render` prints: each file with its endpoint, model, lines and size."""
    total = sum(f.requests for f in files)
    lines = [f"wrote {counted(total, 'request')} in {counted(len(files), 'batch-input file')}:"]
    lines += [f"  {f.path}   {f.url}  {f.model}  {counted(f.requests, 'request')}  {f.bytes / 1e6:,.1f} MB" for f in files]
    lines.append("Upload each with purpose `batch` and create its batch with the endpoint shown.")
    return "\n".join(lines)
