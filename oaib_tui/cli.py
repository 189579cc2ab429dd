"""The `oaib-tui` command line.

`oaib-tui PROJECT` runs a project (the `run` command is implied); the other
commands check, inspect and export. Bad input never gives a traceback: it is
printed as a :class:`~oaib_tui.errors.UserError` with exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import EXIT_CODES_HELP, EXIT_INTERRUPTED, UserError
from .redact import Redactor, redact, secret_headers
from .wording import counted

PROJECT_ARG = click.argument("project", type=click.Path(dir_okay=False, path_type=Path))


class DefaultRunGroup(click.Group):
    """A group whose first argument may be a project file: `oaib-tui x.yaml` means `oaib-tui run x.yaml`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultRunGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "-V", "--version", prog_name="oaib-tui")
def cli() -> None:
    """Run large jobs of OpenAI-style API requests as fast as your rate limits allow,
    or half-price through the Batch API, with resumable state.

    \b
    oaib-tui PROJECT.yaml            run a project (same as `oaib-tui run`)
    oaib-tui PROJECT.yaml --dry-run  forecast requests, tokens, cost and time; send nothing
    oaib-tui validate PROJECT.yaml   check a project and show the first requests
    oaib-tui cancel PROJECT.yaml     cancel the project's batches at the provider
    oaib-tui sim                     serve the OpenAI-compatible simulator on 127.0.0.1

    \b
    Running a project (`oaib-tui PROJECT.yaml [OPTIONS]`, see `oaib-tui run --help`):
      --no-ui         headless: progress on stderr, the summary on stdout
      --dry-run       forecast requests, tokens, cost and time; send nothing
      --fresh         start over (the old state file is kept as a backup)
      --retry-failed  send the items that failed in earlier runs again
      --detach        batch mode: create the batches, record them, and exit
    """


def _load(project: Path):
    from .project import load_project

    return load_project(project)


@cli.command()
@PROJECT_ARG
@click.option("--show", default=3, show_default=True, help="How many rendered request bodies to print.")
def validate(project: Path, show: int) -> None:
    """Check a project file and its sources; print the normalized project and the first requests."""
    import json

    import yaml

    from .project import RequestPlan
    from .project.api_checks import request_warnings

    loaded = _load(project)
    plan = RequestPlan(loaded)
    for warning in request_warnings(loaded):
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"# {loaded.path}: valid project `{loaded.name}`")
    settings = loaded.spec.model_dump(mode="json", exclude_defaults=False)
    click.echo(yaml.safe_dump(Redactor(secret_headers(loaded.spec.provider.headers))(settings), sort_keys=False).rstrip())
    count = 0
    for request in plan:
        if count < show:
            click.echo(f"\n# request {count + 1}: custom_id={request.custom_id} ({request.source}:{request.line})")
            click.echo(json.dumps(request.body, indent=2, ensure_ascii=False, allow_nan=False))
        count += 1
    click.echo(f"\n# {counted(count, 'request')}; every record renders.")
    click.echo(f"# {_prices_line(loaded.spec.pricing)}")


def _prices_line(pricing: dict[str, Any]) -> str:
    """`prices as of 2026-12-03`, and the models the project prices itself."""
    from .pricing import PRICES_AS_OF

    line = f"prices as of {PRICES_AS_OF} (built-in table)"
    return line + f"; `pricing:` sets {', '.join(sorted(pricing))}" if pricing else line


@cli.command(epilog=EXIT_CODES_HELP)
@PROJECT_ARG
@click.option("--dry-run", is_flag=True, help="Send nothing: forecast requests, tokens, cost and time.")
@click.option("--no-ui", is_flag=True, help="Run headless: progress on stderr, then the summary on stdout.")
@click.option("--fresh", is_flag=True, help="Start over: keep the old state file as a backup; cancel batches it left running.")
@click.option("--retry-failed", is_flag=True, help="Send the items that failed in earlier runs again.")
@click.option("--detach", is_flag=True,
              help="Batch mode: create the batches, record them, and exit; the same command without it comes back.")
def run(project: Path, dry_run: bool, no_ui: bool, fresh: bool, retry_failed: bool, detach: bool) -> None:
    """Run a project (also: `oaib-tui PROJECT`). Running it again resumes where it stopped."""
    loaded = _load(project)
    if dry_run:
        _dry_run(loaded)
        return
    if detach:
        from .detach import run_detached

        sys.exit(run_detached(loaded, fresh=fresh, retry_failed=retry_failed))
    if not no_ui and not (sys.stdin.isatty() and sys.stdout.isatty()):
        click.echo("note: not a terminal, so no dashboard: running headless (--no-ui says so explicitly)", err=True)
        no_ui = True
    if no_ui:
        from .headless import run_headless

        sys.exit(run_headless(loaded, fresh=fresh, retry_failed=retry_failed))
    from .ui import run_dashboard

    sys.exit(run_dashboard(loaded, fresh=fresh, retry_failed=retry_failed))


def _dry_run(loaded) -> None:
    from . import forecast, tokens
    from .project import RequestPlan

    result = forecast.forecast(loaded, RequestPlan(loaded))
    notice = tokens.estimation_notice()
    if notice:
        click.echo(notice, err=True)
    click.echo(forecast.render(loaded, result))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback only).")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--rpm", type=int, help="Requests per minute the simulated account allows.")
@click.option("--tpm", type=int, help="Tokens per minute the simulated account allows.")
@click.option("--bucket-s", type=float, help="Seconds of refill a rate-limit bucket holds.")
@click.option("--latency-ms", type=float, help="Base latency of every answer.")
@click.option("--fail-rate", type=float, help="Share of requests answered with a 5xx.")
@click.option("--drop-rate", type=float, help="Share of requests whose connection is dropped.")
@click.option("--quota-after", type=int, help="After this many requests, answer insufficient_quota.")
@click.option("--flex-latency-ms", type=float, help="Base latency of a service_tier: flex answer.")
@click.option("--flex-unavailable-rate", type=float,
              help="Share of flex requests refused with 429 resource_unavailable.")
@click.option("--priority-latency-ms", type=float, help="Base latency of a service_tier: priority answer.")
@click.option("--priority-downgrade-rate", type=float,
              help="Share of priority requests served (and charged) at the default tier.")
@click.option("--time-scale", type=float, help="Speed-up of the Batch API's clock.")
@click.option("--batch-expire-after-s", type=float, help="Simulated seconds until an unfinished batch expires.")
@click.option("--batch-queue-s", type=float, help="Simulated seconds a batch waits in the queue before it runs.")
@click.option("--batch-lines-per-s", type=float, help="Simulated requests per second a running batch answers.")
@click.option("--batch-line-fail-rate", type=float, help="Share of batch lines answered with a 500.")
@click.option("--batch-enqueued-tokens", type=int, help="Prompt tokens a model may have in live batches.")
@click.option("--seed", type=int, help="Seed for answers and faults.")
@click.option("--model", "models", multiple=True,
              help="A model to serve besides the priced ones (repeatable); others get 404 model_not_found.")
def sim(host: str, port: int, **settings) -> None:
    """Serve the OpenAI-compatible simulator for any client (base URL http://HOST:PORT/v1)."""
    from pydantic import ValidationError

    from .project.schema import SimulatorSettings
    from .sim.server import serve

    chosen = {key: value for key, value in settings.items() if value is not None}
    try:
        sim_settings = SimulatorSettings(**chosen)
    except ValidationError as exc:
        raise click.BadParameter("; ".join(f"--{'-'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    serve(sim_settings, host=host, port=port)


@cli.command()
@PROJECT_ARG
@click.option("--remote", is_flag=True, help="Batch mode: also ask the provider how each batch is doing now.")
def status(project: Path, remote: bool) -> None:
    """Summarise a project's state file without sending anything (safe while a run is going)."""
    from .project import RequestPlan
    from .report import state_summary
    from .state import StateReader

    loaded = _load(project)
    reader = StateReader.open_readonly(loaded.state_path, project_name=loaded.name)
    try:
        click.echo(state_summary(loaded, reader, RequestPlan(loaded).estimate_total()))
    finally:
        reader.close()
    if remote:
        import asyncio

        from .remote_batches import describe_remote, remote_states

        click.echo(describe_remote(asyncio.run(remote_states(loaded))))


@cli.command()
@PROJECT_ARG
def cancel(project: Path) -> None:
    """Cancel the project's batches at the provider (batch mode); what they finished is still downloaded."""
    import asyncio

    from .remote_batches import cancel_project_batches
    from .report import resume_command

    loaded = _load(project)
    outcomes = asyncio.run(cancel_project_batches(loaded))
    if not outcomes:
        click.echo(f"{loaded.name}: no live batches in the state file")
        return
    for outcome in outcomes:
        click.echo(f"  part {outcome.part.part:<5} {outcome.part.batch_id}  {outcome.describe()}")
    click.echo(f"A run in progress downloads what they finished, then stops. Later: {resume_command(loaded)}")


@cli.command()
@PROJECT_ARG
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The batch-input file to write; when the job splits, NAME-001.jsonl, NAME-002.jsonl, …")
def render(project: Path, output: Path) -> None:
    """Write the exact Batch-API input JSONL the project would upload (split as batch mode splits it)."""
    from .render import describe, render_batch_input

    click.echo(describe(render_batch_input(_load(project), output)))


@cli.command()
@PROJECT_ARG
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="csv: the file to write (default: the results path with .csv).")
def export(project: Path, fmt: str, output: Path | None) -> None:
    """Write the results (and errors) from the state file, at any time, even while a run is going."""
    from .state import StateReader, export_csv, write_outputs

    loaded = _load(project)
    reader = StateReader.open_readonly(loaded.state_path, project_name=loaded.name)
    try:
        reader.check_integrity()
        if fmt == "csv":
            target = output or loaded.results_path.with_suffix(".csv")
            rows = export_csv(reader, target, keep=loaded.spec.output.keep or None)
            click.echo(f"wrote {counted(rows, 'row')} to {target}")
        else:
            counts = write_outputs(reader, loaded.results_path, loaded.errors_path, keep=loaded.spec.output.keep or None)
            click.echo(f"wrote {counted(counts.results, 'result')} to {loaded.results_path} "
                       f"and {counted(counts.errors, 'error')} to {loaded.errors_path}")
    finally:
        reader.close()


def _print_user_error(error: UserError) -> None:
    click.secho(f"error: {redact(error.title)}", fg="red", bold=True, err=True)
    for problem in error.problems:
        click.echo(f"  {redact(str(problem))}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: runs the CLI and turns user errors into exit code 2."""
    try:
        cli.main(args=argv, prog_name="oaib-tui", standalone_mode=False)
    except UserError as error:
        _print_user_error(error)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)  # click's usage errors exit 2, our EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
