"""One part's journey: upload its file, create its batch, follow it to its end, download it, clean up.

Each remote step is recorded as intended before it is taken and as done right
after, so a run that dies between the two finds out on resume which way it
went: an upload in flight is looked for by its file name, a batch creation by
its input file. Nothing is ever uploaded or created twice.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .. import events as ev
from ..engine.client import UNREACHABLE_AFTER_ATTEMPTS, unreachable_advice
from ..engine.retry import backoff_delay
from ..parts import TERMINAL_STATUSES, Part
from ..project.schema import LoadedProject
from .gate import GateClosed, TokenGate
from .ledger import PartLedger
from .remote import BatchRemote, RemoteBatch, RemoteError
from .results import describe_errors, token_refusal
from .writer import LineForm, parts_folder

T = TypeVar("T")
REMOTE_BACKOFF_CAP_S = 300.0
REFUSAL_BACKOFF_CAP_S = 1800.0
NOTICE_AFTER_FAILURES = 3
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class StepAborted(Exception):
    """The run is stopping (or cannot go on): this part's journey ends here, to be resumed later."""


class PartOwner(Protocol):
    """What a journey needs from the engine that runs it."""

    project: LoadedProject
    remote: BatchRemote
    ledger: PartLedger
    gate: TokenGate
    rng: random.Random
    upload_lock: asyncio.Lock
    token: str

    def emit(self, event: ev.Event) -> None: ...
    def wall(self) -> float: ...
    @property
    def stopping(self) -> bool: ...
    @property
    def draining(self) -> bool: ...
    async def sleep(self, seconds: float) -> None: ...
    async def until_resumed(self) -> None: ...
    def stop(self, reason: ev.StopReason = ..., message: str = ...) -> None: ...
    def stop_for(self, outcome_reason: str, message: str) -> None: ...
    def budget_allows(self, part: Part) -> bool: ...
    def cancel_seen(self, part: Part) -> None: ...
    def part_uploaded(self, part: Part) -> None: ...
    async def download(self, part: Part) -> Part: ...
    def stray_answer(self, answer: ev.RequestSucceeded) -> None: ...
    def part_done(self, part: Part) -> None: ...


def upload_name(project_name: str, token: str, part: int) -> str:
    """The file name a part is uploaded under: unique to this state file, so a resumed run can find it."""
    return f"{_UNSAFE_NAME.sub('_', project_name)[:60]}-{token}-part{part:05d}.jsonl"


async def remote_call(owner: PartOwner, what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Call until it succeeds, backing off on what may pass; a `fail` is raised, a `stop` stops the run."""
    failures = 0
    while True:
        try:
            return await call()
        except RemoteError as error:
            outcome = error.outcome
            if outcome.action == "fail":
                raise
            if outcome.action == "stop":
                owner.stop_for(outcome.reason, str(error))
                raise StepAborted() from error
            failures += 1
            if outcome.reason == "cannot connect" and not owner.remote.answered \
                    and failures >= UNREACHABLE_AFTER_ATTEMPTS:
                owner.stop("unreachable", unreachable_advice(str(owner.remote.client.base_url)))
                raise StepAborted() from error
            if failures == NOTICE_AFTER_FAILURES:
                owner.emit(ev.Notice(f"{what} keeps failing ({error}); still trying", "warning", at=owner.wall()))
        if owner.stopping:
            raise StepAborted()
        await owner.sleep(backoff_delay(failures, outcome.server_delay_s, owner.rng, cap=REMOTE_BACKOFF_CAP_S))
        if owner.stopping:
            raise StepAborted()


class PartJourney:
    """Takes one part from wherever the state file left it to the end."""

    def __init__(self, owner: PartOwner, part: Part) -> None:
        self.owner = owner
        self.part = part
        self._seen_live = False
        """This run saw the batch live: a cancellation seen after that is the user's doing."""

    async def run(self) -> None:
        """Go as far as the run allows; a step the provider refuses outright stops the run, with its reason."""
        try:
            await self._journey()
        except (StepAborted, GateClosed):
            return
        except RemoteError as error:
            self.owner.stop("error", f"part {self.part.part}: {error}")

    async def _journey(self) -> None:
        part = self.part
        while part.phase not in ("ended", "downloaded"):
            if part.phase in ("written", "uploading"):
                part = await self._upload(part)
            elif part.phase in ("uploaded", "creating"):
                part = await self._create(part)
            else:  # submitted: followed to its end, or back to `uploaded` after a token-limit refusal
                part = await self._follow(part)
        if part.phase == "ended":
            part = await self.owner.download(part)
        if part.phase == "downloaded":
            await self._clean_up(part)
            self.owner.part_done(part)

    # -- upload ---------------------------------------------------------------------------

    async def _upload(self, part: Part) -> Part:
        owner = self.owner
        async with owner.upload_lock:
            if owner.stopping:
                raise StepAborted()
            if part.phase == "uploading":  # a run died during this upload: did it arrive?
                found = await remote_call(owner, "list files", lambda: owner.remote.find_file(
                    part.filename, part.intent_at or 0.0))
                if found is not None:
                    return self._uploaded(part, found)
            path = self._local_file(part)
            part = owner.ledger.update(part, phase="uploading", intent_at=owner.wall(), local_path=str(path))
            file_id = await remote_call(owner, "upload", lambda: owner.remote.upload(path, part.filename))
            return self._uploaded(part, file_id)

    def _uploaded(self, part: Part, file_id: str) -> Part:
        local = part.local_path
        part = self.owner.ledger.update(part, phase="uploaded", input_file_id=file_id, local_path=None)
        if local:
            Path(local).unlink(missing_ok=True)
        self.owner.part_uploaded(part)
        return part

    def _local_file(self, part: Part) -> Path:
        """The part's file; rebuilt from the requests in the state file if it is gone or not whole."""
        path = Path(part.local_path) if part.local_path else None
        if path is not None and path.exists() and path.stat().st_size == part.bytes:
            return path
        path = parts_folder(self.owner.ledger.state_path) / f"part-{part.part:05d}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        form = LineForm.of(self.owner.project)
        with open(path, "wb") as out:
            for custom_id, request in self.owner.ledger.request_lines(part.part, unfinished_only=False):
                out.write(form.line(custom_id, part.url, request))
        return path

    # -- create ---------------------------------------------------------------------------

    async def _create(self, part: Part) -> Part:
        owner = self.owner
        if part.phase == "creating":  # a run died during this creation: was the batch made?
            found = await remote_call(owner, "list batches", lambda: owner.remote.find_batch(
                part.input_file_id or "", part.intent_at or 0.0))
            if found is not None:
                owner.gate.hold(part.model, part.tokens)  # released when it is seen to end, like any other
                return self._created(part, found)
        await owner.until_resumed()
        if owner.draining or owner.stopping:
            raise StepAborted()
        if part.refusals and not owner.gate.enqueued.get(part.model):
            # Refused with none of ours queued: other work holds the limit. Ask again, less and less often.
            await owner.sleep(backoff_delay(part.refusals, None, owner.rng, base=owner.project.spec.batch.poll_s,
                                            cap=REFUSAL_BACKOFF_CAP_S))
        await owner.gate.acquire(part.model, part.tokens)
        if not owner.budget_allows(part):
            owner.gate.release(part.model, part.tokens)
            raise StepAborted()
        part = owner.ledger.update(part, phase="creating", intent_at=owner.wall())
        try:
            created = await remote_call(owner, "create batch", lambda: owner.remote.create(
                part.input_file_id or "", part.url, owner.project.spec.batch.completion_window, self._metadata(part),
                self._output_expiry()))
        except RemoteError as error:
            owner.gate.release(part.model, part.tokens)
            if not await remote_call(owner, "check file", lambda: owner.remote.file_exists(part.input_file_id or "")):
                return owner.ledger.update(part, phase="written", input_file_id=None)  # gone: upload it again
            return self._refused(part, str(error))
        except StepAborted:
            owner.gate.release(part.model, part.tokens)
            raise
        return self._created(part, created)

    def _output_expiry(self) -> int | None:
        """OpenAI's `output_expires_after`; Azure and other servers may not know it, so it goes to OpenAI only."""
        project = self.owner.project
        return project.spec.batch.output_expires_after if project.spec.provider.kind in ("openai", "simulator") else None

    def _metadata(self, part: Part) -> dict[str, str]:
        return {"oaib_project": self.owner.project.name[:512], "oaib_part": str(part.part),
                "oaib_state": self.owner.token, "oaib_round": str(part.round)}

    def _created(self, part: Part, batch: RemoteBatch) -> Part:
        part = self.owner.ledger.update(part, phase="submitted", batch_id=batch.id, status=batch.status,
                                        created_at=batch.created_at, expires_at=batch.expires_at, total=batch.total,
                                        completed=batch.completed, failed=batch.failed)
        self.owner.emit(ev.BatchCreated(batch_id=batch.id, part=part.part, input_file_id=part.input_file_id or "",
                                        requests=part.requests, expires_at=batch.expires_at, at=self.owner.wall()))
        return part

    def _refused(self, part: Part, message: str) -> Part:
        """The provider will not make a batch of this file (400-type): its items go to a new part."""
        self.owner.emit(ev.Notice(f"part {part.part}: the batch could not be created ({message})", "warning",
                                  at=self.owner.wall()))
        return self._end_failed(part, "create_refused", message)

    def _end_failed(self, part: Part, code: str, message: str) -> Part:
        """End a part whose batch will never run: its unfinished items go round again."""
        return self.owner.ledger.update(part, phase="ended", status="failed", ended_at=self.owner.wall(),
                                        errors=[{"code": code, "line": None, "message": message}])

    # -- follow ---------------------------------------------------------------------------

    async def _follow(self, part: Part) -> Part:
        """Poll until the batch ends (phase `ended`) or is refused for the token limit (back to `uploaded`)."""
        owner = self.owner
        while True:
            try:
                batch = await remote_call(owner, "check batch", lambda: owner.remote.retrieve(part.batch_id or ""))  # noqa: B023 - awaited here
            except RemoteError as error:
                if error.outcome.status != 404:
                    raise
                owner.gate.release(part.model, part.tokens)
                return self._vanished(part, str(error))
            part = self._observe(part, batch)
            if batch.status in TERMINAL_STATUSES:
                owner.gate.release(part.model, part.tokens)
                return self._ended(part, batch)
            if owner.stopping:
                raise StepAborted()
            await owner.sleep(owner.project.spec.batch.poll_s)
            if owner.stopping:
                raise StepAborted()

    def _vanished(self, part: Part, message: str) -> Part:
        """The provider no longer knows the batch (a simulator restarted, an account changed): send its items again."""
        owner = self.owner
        owner.emit(ev.Notice(f"batch {part.batch_id} (part {part.part}) is unknown to the provider ({message}): "
                             "its unfinished items go into a new batch", "warning", at=owner.wall()))
        return self._end_failed(part, "batch_not_found", message)

    def _observe(self, part: Part, batch: RemoteBatch) -> Part:
        owner, now = self.owner, self.owner.wall()
        if batch.status in ("cancelling", "cancelled") and self._seen_live:
            owner.cancel_seen(part)
        self._seen_live = batch.status not in ("cancelling", "cancelled")
        changes: dict[str, Any] = {}
        if batch.status != part.status:
            if part.status in (None, "validating") and batch.status not in ("validating", "failed"):
                self._mark_sent(part)
            owner.emit(ev.BatchStatusChanged(batch_id=batch.id, status=batch.status, at=now))  # type: ignore[arg-type]
            changes["status"] = batch.status
        if (batch.total, batch.completed, batch.failed) != (part.total, part.completed, part.failed):
            owner.emit(ev.BatchCountsChanged(batch_id=batch.id, total=batch.total, completed=batch.completed,
                                             failed=batch.failed, at=now))
            changes.update(total=batch.total, completed=batch.completed, failed=batch.failed)
        return owner.ledger.update(part, **changes) if changes else part

    def _mark_sent(self, part: Part) -> None:
        """The batch got past validation: its items are in flight, as realtime's RequestSent says."""
        now = self.owner.wall()
        for custom_id, seq, status in self.owner.ledger.items_of(part.part):
            if status not in ("done", "failed"):
                self.owner.emit(ev.RequestSent(custom_id=custom_id, seq=seq, attempt=part.round,
                                               reserved_tokens=0, at=now))

    def _ended(self, part: Part, batch: RemoteBatch) -> Part:
        owner = self.owner
        refused, limit = token_refusal(batch.errors)
        if refused:
            return self._token_refused(part, limit)
        if batch.status == "failed" and batch.errors:
            owner.emit(ev.Notice(f"batch {batch.id} (part {part.part}) failed validation: "
                                 f"{describe_errors(batch.errors)}", "warning", at=owner.wall()))
        return owner.ledger.update(part, phase="ended", status=batch.status, output_file_id=batch.output_file_id,
                                   error_file_id=batch.error_file_id, errors=batch.errors, ended_at=owner.wall())

    def _token_refused(self, part: Part, limit: int | None) -> Part:
        owner = self.owner
        learned = owner.gate.learn(part.model, limit, owner.gate.enqueued.get(part.model, 0))
        if part.refusals == 0:
            known = f"{learned:,} tokens" if learned else "not stated"
            owner.emit(ev.Notice(f"the provider's enqueued-token limit for {part.model} is full (limit {known}): "
                                 f"part {part.part} waits for earlier batches to finish", "info", at=owner.wall()))
        if learned is not None and part.tokens > learned:
            return self._end_failed(part, "token_limit_exceeded",
                                    f"the part holds {part.tokens:,} tokens, over the limit of {learned:,}: split smaller")
        return owner.ledger.update(part, phase="uploaded", batch_id=None, status=None, refusals=part.refusals + 1,
                                   total=0, completed=0, failed=0)

    # -- clean up -------------------------------------------------------------------------

    async def _clean_up(self, part: Part) -> None:
        owner = self.owner
        if not owner.project.spec.batch.clean_up or part.cleaned:
            return
        for file_id in (part.input_file_id, part.output_file_id, part.error_file_id):
            if file_id:
                try:
                    await remote_call(owner, "delete file", lambda: owner.remote.delete_file(file_id))  # noqa: B023 - awaited here
                except RemoteError as error:
                    owner.emit(ev.Notice(f"could not delete {file_id}: {error}", "warning", at=owner.wall()))
        owner.ledger.update(part, cleaned=True)
