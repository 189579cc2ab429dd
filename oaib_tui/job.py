"""One run of a project, from opening the state file to writing the outputs.

Every front end runs one through the run lifecycle (lifecycle.py): it wires
the executor's event stream to the state store and to the front end's own
consumers, and turns the state file into the resume index.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx2
import openai

from . import events as ev
from .connect import client_for, sender_for
from .engine.client import Sender
from .engine.realtime import RealtimeExecutor
from .engine.resume import OnlyThese, ResumeIndex
from .engine.steering import Executor
from .errors import EXIT_OK, EXIT_SOME_FAILED, UserError
from .project import RequestPlan
from .project.schema import LoadedProject, deadline_at
from .redact import Redactor, secret_headers
from .state.accounting import Accounting, account
from .state.batches import BatchLedger
from .state.group_commit import GroupCommit
from .state.outputs import prepare_folders, write_outputs
from .state.schema import write_meta
from .state.store import StateStore
from .wording import counted

DEADLINE_KEY = "hybrid_deadline"
"""The state file's `meta` key for `mode: hybrid`: the deadline as written, and when it falls (`6h@1796300000.0`)."""


@dataclass
class JobRun:
    """Opens the state file (taking its lock) and owns it until `close()`."""

    project: LoadedProject
    fresh: bool = False
    http_client: httpx2.AsyncClient | None = None
    consumers: list[Callable[[ev.Event], None]] = field(default_factory=list)
    retry_failed: bool = False
    client: openai.AsyncOpenAI | None = None
    """A ready SDK client to send with (the caller keeps it open); default: one built for the provider."""
    sender: Sender | None = None
    """How realtime attempts are sent (tests script answers with one); default: chosen for the provider."""

    def __post_init__(self) -> None:
        self.engine_ready = asyncio.Event()
        """Set once `run()` has built the engine (steering can reach it from then on)."""
        self.plan = RequestPlan(self.project)
        provider = self.project.spec.provider
        self.redactor = Redactor([os.environ.get(provider.api_key_env), *secret_headers(provider.headers)])
        prepare_folders(self.project.results_path, self.project.errors_path)  # fail now, not after paying
        self.store = StateStore.open(
            self.project.state_path,
            project_name=self.project.name,
            project_path=str(self.project.path),
            fingerprint=self.plan.fingerprint,
            fresh=self.fresh,
        )
        self.only: OnlyThese | None = None
        """`retry_failed`: the items this run sends, exactly the failed ones (not those left to do)."""
        if self.retry_failed:
            self.only = self._failed_only(self.resume_index())
            self.store.requeue_failed()
        self.commits: GroupCommit | None = None
        """Realtime: answers are committed a few at a time, and reported only once committed."""
        if self.project.spec.mode not in ("batch", "hybrid"):
            self.commits = GroupCommit(self.store, self._deliver, on_store_error=self._stop_sending,
                                       on_delivery_error=self._consumer_failed)
        self.engine: Executor | None = None
        self.accounting: Accounting | None = None
        """What the state file itself recorded at the end of the run (see `checked`)."""
        self.finished: ev.RunFinished | None = None
        """The run's last event as the front ends see it: the engine's, checked against the state file."""
        """What the state file itself recorded at the end of the run (see `checked`)."""

    def _failed_only(self, base: ResumeIndex) -> OnlyThese:
        ids = {row[1] for row in self.store.iter_rows(statuses=("failed",))}
        fast = self.store.fingerprint_matches(self.plan.fingerprint)
        return OnlyThese.of(self.store.finished_input_keys(("failed",)) if fast else None, ids, base)

    def _say_what_is_sent_again(self) -> None:
        """A run that resumes sends again what an earlier one left (a cancel, a stop): say so first."""
        counts = self.store.counts()
        if not any(counts.values()):
            return  # a first run
        recorded = sum(counts.values())
        # Lines never read by the earlier run are not in the file yet: count them from the sources.
        unread = max(0, (self.plan.estimate_total() or recorded) - recorded)
        left = counts.get("queued", 0) + counts.get("sent", 0) + unread
        if self.only is not None:
            note = f"retrying exactly the {counted(len(self.only.ids), 'failed request')}"
            if left - len(self.only.ids) > 0:
                note += f"; {counted(left - len(self.only.ids), 'request')} left to do stay for the next run"
            self.emit(ev.Notice(note, "info", at=time.time()))
        elif left:
            self.emit(ev.Notice(f"resuming: {counted(left, 'request')} an earlier run left unanswered "
                                "(stopped or cancelled) will be sent again", "warning", at=time.time()))

    def resume_index(self) -> ResumeIndex:
        counts = self.store.counts()
        done, failed = counts.get("done", 0), counts.get("failed", 0)
        if not done and not failed:
            return ResumeIndex.empty()
        if not self.store.fingerprint_matches(self.plan.fingerprint):
            return ResumeIndex(None, None, self.store.finished_status, done=done, failed=failed)
        return ResumeIndex(
            self.store.finished_input_keys(("done",)), self.store.finished_input_keys(("failed",)),
            self.store.finished_status, done=done, failed=failed,
        )

    def emit(self, event: ev.Event) -> None:
        event = self.redactor.event(event)  # a server may echo the key in a message: never store nor show it
        if self.commits is not None:
            self.commits.emit(event)
            return
        try:
            self.store.handle(event)
        except Exception as error:  # noqa: BLE001 - unrecordable: stop before anything is paid twice
            self._stop_sending(error)
        self._deliver(event)

    def _deliver(self, event: ev.Event) -> None:
        """Hand a recorded event to the front end's consumers."""
        if isinstance(event, ev.RunFinished):
            event = self.finished = self.checked(event)
        for consume in self.consumers:
            consume(event)

    async def run(self) -> ev.RunFinished:
        client = self.client or client_for(self.project, self.http_client)
        sender = self.sender or sender_for(self.project, client,
                                           own_transport=self.client is None and self.http_client is None)
        if self.store.backup_path is not None:
            await self._cancel_left_behind(client, self.store.backup_path)
        self._say_what_is_sent_again()
        engine: Executor
        # The batch wing is imported by the runs that use it: a realtime run starts sooner without it.
        if self.project.spec.mode == "batch":
            from .batch.executor import BatchExecutor

            engine = BatchExecutor(self.project, client, self.emit, BatchLedger(self.store), only=self.only)
        elif self.project.spec.mode == "hybrid":
            from .hybrid.executor import HybridExecutor

            engine = HybridExecutor(self.project, client, self.emit, BatchLedger(self.store), sender=sender,
                                    resume=lambda: self.only or self.resume_index(), only=self.only,
                                    deadline=self._hybrid_deadline())
        else:
            engine = RealtimeExecutor(self.project, client, self.emit, resume=self.only or self.resume_index(),
                                      sender=sender, commits=self.commits)
        self.engine = engine
        self.engine_ready.set()
        try:
            finished = await engine.run()
            self._adopt_fingerprint()
            return self.finished or finished
        finally:
            try:
                self.store.flush()  # raises the state file's error if it still cannot be written
            finally:
                await sender.close()
                if client is not self.client:
                    await client.close()

    def _hybrid_deadline(self) -> float:
        """A duration counts from the job's first run: a resumed run keeps its deadline, unless the file names another."""
        text = self.project.spec.deadline or "0s"
        kept = str(self.store.meta.get(DEADLINE_KEY, ""))
        if kept.rpartition("@")[0] == text:
            return float(kept.rpartition("@")[2])
        at = deadline_at(text, time.time())
        self.store.write(lambda conn: write_meta(conn, {DEADLINE_KEY: f"{text}@{at}"}))
        return at

    async def _cancel_left_behind(self, client: openai.AsyncOpenAI, backup: Path) -> None:
        """--fresh: the old state file's live batches would go on being billed, unread: cancel them."""
        from .remote_batches import cancel_left_behind

        outcomes = await cancel_left_behind(backup, client)
        cancelled = [outcome.part.batch_id for outcome in outcomes if outcome.status is not None]
        if cancelled:
            self.emit(ev.Notice(f"starting over: cancelled {counted(len(cancelled), 'batch')} the old state file left "
                                f"running ({', '.join(map(str, cancelled))}); what they had finished is billed "
                                f"and stays with {backup}", "warning", at=time.time()))
        for outcome in outcomes:
            if outcome.status is None:
                self.emit(ev.Notice(f"starting over: batch {outcome.part.batch_id} of the old state file is still "
                                    f"running ({outcome.describe()}); cancel it at the provider", "error", at=time.time()))

    def checked(self, finished: ev.RunFinished) -> ev.RunFinished:
        """`finished`, unless the state file disagrees: then exit non-zero and say what it records.

        The ledger invariant: a run says "all requests answered" and exits 0 only if the file,
        read afresh, holds every item done; it never claims more answers than the file has.
        """
        self.store.flush()
        self.accounting = accounting = account(self.store.path, self.store.identity)
        claims_too_much = accounting.done < finished.done
        if finished.exit_code == EXIT_OK and (claims_too_much or not accounting.all_answered):
            finished = replace(finished, exit_code=EXIT_SOME_FAILED,
                               message=f"not every request is accounted for: {accounting.describe()}")
        elif claims_too_much:
            finished = replace(finished, message=f"{finished.message}; {accounting.describe()}")
        return finished

    def _stop_sending(self, error: Exception) -> None:
        """Answers that cannot be recorded would be paid for again: send nothing more (events stay pending)."""
        if self.engine is None or self.engine.stopping:
            return
        if isinstance(error, UserError):
            problem = error.problems[0] if error.problems else None
            detail = f" ({problem.message})" if problem else ""
            advice = problem.hint if problem and problem.hint else "free some disk space or fix the file, then run again"
            self.engine.stop("error", f"{error.title}{detail}: {advice}")
        else:
            self.engine.stop("error", f"an event could not be recorded in the state file ({error!r:.300}); "
                                      "nothing more is sent")

    def _consumer_failed(self, error: Exception) -> None:
        if self.engine is not None:
            self.engine.stop("error", f"the run stopped on an internal error: {error!r:.300}")

    def _adopt_fingerprint(self) -> None:
        """After a slow-path resume that saw every line, re-key finished items so the next resume is fast."""
        engine = self.engine
        if (engine is not None and engine.rekeyed is not None and engine.scanned_every_line
                and not self.store.fingerprint_matches(self.plan.fingerprint)):
            self.store.adopt_fingerprint(engine.rekeyed)

    def write_outputs(self) -> tuple[Path, Path]:
        results, errors = self.project.results_path, self.project.errors_path
        write_outputs(self.store, results, errors, keep=self.project.spec.output.keep or None)
        return results, errors

    def close(self) -> None:
        self.store.close()

