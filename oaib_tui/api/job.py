"""`Job`: a project built from Python, run from a script or a notebook.

Everything a project file sets is a keyword argument; requests are added one
at a time (`job.add(...)`) and spooled to disk, so adding a million of them
costs little memory. A run is the CLI's run: the same engine, the same state
file, the same resume (running a job again skips what is done).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from .. import events as ev
from ..job import JobRun
from ..lifecycle import Outputs, RunOptions, in_background, run_to_end
from ..project import load_project
from ..project.schema import LoadedProject, Project, resolve_path
from ..report import with_next_steps
from ..wording import counted
from .clients import engine_client
from .config import (
    METADATA_FIELD,
    check_settings,
    job_name,
    job_settings,
    spool_project,
)
from .dashboard import check_dashboard_can_open, refuse_inside_a_loop, run_in_dashboard
from .display import Display, choose_display, keep_showing
from .reading import job_results
from .results import Result, Results
from .spool import RequestSpool, endpoint_url, request_body
from .streaming import DONE, LiveResults


class Job:
    """A batch of API requests, run realtime (rate-limited) or through the Batch API, resumable.

    `model`, `mode`, `endpoint`, `limits`, `provider`, `batch`, `pricing`,
    `deadline`, `hybrid`, `output` and `state` mean what they mean in a project
    file (the sections are dicts with the same keys; `provider` may be just a
    kind, e.g. `"simulator"`). `mode="hybrid", deadline="2h"` sends through the
    Batch API first, then moves what is not answered to flex, then to standard
    realtime, to finish by the deadline at the least cost. `endpoint` is a path (`/v1/embeddings`) or an SDK method
    name (`embeddings.create`). `client` is an `openai.AsyncOpenAI` to send
    with instead of one built from `provider` (e.g. `simulator_client()` in
    tests). `quiet=True` prints nothing. With `output`, a run also writes the
    results and errors files. `spool` is where added requests are written
    (default: a hidden file next to the state file, deleted with the job).
    """

    _settings: dict[str, Any]
    _spool_at: Path | None

    def __init__(self, model: str, *, mode: str = "auto", endpoint: str = "chat.completions.create",
                 limits: dict[str, Any] | None = None, provider: str | dict[str, Any] | None = None,
                 batch: dict[str, Any] | None = None, pricing: dict[str, Any] | None = None,
                 output: dict[str, Any] | None = None, state: str | Path | None = None, name: str | None = None,
                 client: Any = None, quiet: bool = False, spool: str | Path | None = None,
                 deadline: str | None = None, hybrid: dict[str, Any] | None = None) -> None:
        sections = {"limits": limits, "provider": provider, "batch": batch, "pricing": pricing, "output": output,
                    "deadline": deadline, "hybrid": hybrid}
        self._setup(job_name(name, state), client, quiet)
        self._settings = job_settings(name=self.name, model=model, mode=mode, endpoint=endpoint_url(endpoint),
                                      state=state, sections=sections)
        check_settings(self._settings)
        self._writes_outputs = output is not None
        self._spool_at = Path(spool) if spool is not None else None

    @classmethod
    def from_project(cls, path: str | Path, *, client: Any = None, quiet: bool = False) -> Job:
        """A job whose requests come from a project file's sources; a run also writes its output files."""
        project = load_project(path)
        job = cls.__new__(cls)
        job._setup(project.name, client, quiet)
        job._project = project
        job._writes_outputs = True
        return job

    def _setup(self, name: str, client: Any, quiet: bool) -> None:
        self.name = name
        self.quiet = quiet
        self._client = engine_client(client) if client is not None else None
        self._project: LoadedProject | None = None
        self._settings = {}
        self._spool: RequestSpool | None = None
        self._spool_at = None
        self._run: JobRun | None = None

    # -- adding requests ------------------------------------------------------------------

    def add(self, method: str | None = None, /, *, custom_id: str | None = None, metadata: Any = None,
            extra_body: dict[str, Any] | None = None, **params: Any) -> str:
        """Add one request; returns its custom_id (default `request-<n>`).

        `params` are the body as the SDK method takes it (`messages=…`,
        `input=…`, `max_tokens=…`); `model` defaults to the job's. `method`
        (`"chat.completions.create"`, `"/v1/embeddings"`, …) defaults to the
        job's endpoint. `metadata` (any JSON-able value) comes back with the
        request's result; `extra_body` is merged into the body as in the SDK.
        """
        if self._project is not None:
            raise TypeError(f"job {self.name!r} comes from a project file: its requests are its sources' records")
        if self._run is not None:
            raise RuntimeError("requests cannot be added while the job runs")
        url = endpoint_url(method) if method is not None else self._settings["endpoint"]
        return self._open_spool().add(url, request_body(params, extra_body), custom_id, metadata)

    def _open_spool(self) -> RequestSpool:
        if self._spool is None:
            state = self.state_path
            self._spool = RequestSpool(self._spool_at, folder=state.parent, stem=state.name)
        return self._spool

    def __len__(self) -> int:
        """How many requests were added (project jobs: 0)."""
        return self._spool.count if self._spool is not None else 0

    @property
    def state_path(self) -> Path:
        """The state file: what makes the job resumable, and where its results are read from."""
        if self._project is not None:
            return self._project.state_path
        state = str(self._settings.get("state", Project.model_fields["state"].default))
        return resolve_path(state, self.name, Path.cwd())

    def project(self) -> LoadedProject:
        """The project this job runs (for a Python job: its settings, with the spool as the source)."""
        if self._project is not None:
            return self._project
        if self._spool is None or not self._spool.count:
            raise ValueError(f"job {self.name!r} has no requests: add some with job.add(...) first")
        self._spool.flush()
        return spool_project(self._settings, self._spool.path, self.state_path)

    # -- running --------------------------------------------------------------------------

    async def run(self, *, ui: bool = False, fresh: bool = False, retry_failed: bool = False) -> Results:
        """Send every request not already finished; returns all the job's results, in input order.

        `fresh=True` starts over (the old state file is kept as a backup);
        `retry_failed=True` sends the requests that failed before again. The
        dashboard (`ui=True`) runs its own event loop: use `run_sync(ui=True)`.
        """
        if ui:
            refuse_inside_a_loop()
        project = self.project()
        finished = await self._execute(project, [], fresh=fresh, retry_failed=retry_failed)
        return self._results(project, finished)

    def run_sync(self, *, ui: bool = False, fresh: bool = False, retry_failed: bool = False) -> Results:
        """`run()` for code outside an event loop (a plain script); `ui=True` opens the dashboard."""
        if _loop_is_running():
            raise RuntimeError("run_sync() cannot be used inside a running event loop (a notebook cell has one): "
                               "use `await job.run()` instead")
        # Outside the `except` that found no loop: an error of the run must not arrive chained to it.
        if ui:
            return self._run_in_dashboard(fresh, retry_failed)
        return asyncio.run(self.run(fresh=fresh, retry_failed=retry_failed))

    def _run_in_dashboard(self, fresh: bool, retry_failed: bool) -> Results:
        check_dashboard_can_open(self._client)
        project = self.project()
        code = run_in_dashboard(project, fresh=fresh, retry_failed=retry_failed)
        return Results(self._reader(project), state=None, message=f"the dashboard ended with exit code {code}")

    async def stream(self, *, fresh: bool = False, retry_failed: bool = False) -> AsyncIterator[Result]:
        """Run the job, yielding each result as it completes; those finished by earlier runs come at the end.

        Leaving the loop early stops the job (requests in flight are let finish
        and recorded); wrap it in `contextlib.aclosing` to stop at once.
        """
        project = self.project()
        live = LiveResults(self._metadata_of, lambda: self._run.engine if self._run is not None else None)
        task = asyncio.create_task(self._run_for_stream(project, live, fresh, retry_failed))
        try:
            while (result := await live.get()) is not DONE:
                yield result
            await task
            for result in job_results(project, self._metadata_of):
                if result.seq not in live.seen:
                    yield result
        finally:
            if not task.done():
                self.stop()
                with contextlib.suppress(Exception):
                    await task

    async def _run_for_stream(self, project: LoadedProject, live: LiveResults, fresh: bool,
                              retry_failed: bool) -> ev.RunFinished:
        try:
            return await self._execute(project, [live.handle], fresh=fresh, retry_failed=retry_failed)
        finally:
            live.end()

    def stop(self) -> None:
        """Stop a running job: nothing more is sent, requests in flight finish. Run it again to resume."""
        engine = self._run.engine if self._run is not None else None
        if engine is not None:
            engine.stop("cancelled", "stopped from Python (Job.stop)")

    async def _execute(self, project: LoadedProject, consumers: list, *, fresh: bool,
                       retry_failed: bool) -> ev.RunFinished:
        if self._run is not None:
            raise RuntimeError(f"job {self.name!r} is already running")
        front = _PythonRun(self, choose_display(self.quiet))
        options = RunOptions(fresh=fresh, retry_failed=retry_failed, client=self._client)
        return await run_to_end(project, front, options, extra_consumers=consumers,
                                writes_outputs=self._writes_outputs)

    @contextlib.contextmanager
    def _running(self, run: JobRun) -> Iterator[None]:
        """While the run goes, `stop()` and `stream()` reach it, and no second run may start."""
        self._run = run
        try:
            yield
        finally:
            self._run = None

    # -- results --------------------------------------------------------------------------

    def results(self) -> Results:
        """What the state file holds for this job's requests now, in input order, without running."""
        if self._project is None and (self._spool is None or not self._spool.count):
            return Results(lambda: iter(()), state=None)
        return Results(self._reader(self.project()), state=None)

    def _results(self, project: LoadedProject, finished: ev.RunFinished) -> Results:
        return Results(self._reader(project), state=finished.state, message=finished.message,
                       pending=max(finished.pending, 0))

    def _reader(self, project: LoadedProject) -> _ResultReader:
        return _ResultReader(project, self._metadata_of, self._spool)

    def _metadata_of(self, keep: dict[str, Any]) -> Any:
        return dict(keep) if self._project is not None else keep.get(METADATA_FIELD)

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Forget the added requests; the spool file the job wrote goes once no Results need it."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Job {self.name!r}: {counted(len(self), 'request')}, state {self.state_path}>"


class _PythonRun:
    """The Python API as a front end of the run lifecycle: a progress display, and the run's last event back."""

    def __init__(self, job: Job, display: Display) -> None:
        self.job = job
        self.display = display
        self.handle = display.handle

    def alongside(self, run: JobRun) -> Iterator[AbstractContextManager[Any]]:
        yield self.job._running(run)
        yield contextlib.closing(self.display)
        yield in_background(keep_showing(self.display))

    def report(self, run: JobRun, finished: ev.RunFinished, outputs: Outputs | None) -> ev.RunFinished:
        return with_next_steps(run, finished, "python")


class _ResultReader:
    """Reads a job's results from its state file, each time it is called.

    It holds the job's spool: the spool's file is the project's source, and is
    deleted only once nothing that may read the results holds it.
    """

    def __init__(self, project: LoadedProject, metadata_of: Callable[[dict[str, Any]], Any],
                 spool: RequestSpool | None) -> None:
        self.project = project
        self.metadata_of = metadata_of
        self.spool = spool

    def __call__(self) -> Iterator[Result]:
        return job_results(self.project, self.metadata_of)


def _loop_is_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
