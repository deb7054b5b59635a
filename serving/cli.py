"""``salesradar serve|score|keys`` (registered through the salesradar.commands entry point).

Entry points are the only place where settings are read from the environment, the wall clock is
consulted, and process-wide knobs (MLflow HTTP timeouts) are set.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import BaseModel
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from features.cli.commands.engine import DataOption, EngineOption
from features.cli.commands.quiet import quiet_libraries
from features.compute.engines import Engine
from features.compute.engines.location import check_directory
from features.contract.tasks import TASK_KINDS, Task
from features.contract.times import iso_utc, resolve_as_of
from features.errors import UserError
from serving.cli_settings import console, load_settings
from serving.delivery.cli import deliver_after_publish, notify
from serving.settings import Settings
from serving.store.database import Publication, ScoreStore
from serving.store.keys import KeyRequestError, KeyStore, Role
from serving.writeback.cli import export_scores

if TYPE_CHECKING:  # the batch scorer is imported by the command itself: startup stays short
    from serving.scoring.batch import BatchSummary

keys_app = typer.Typer(help="Create, revoke and list API keys.", no_args_is_help=True)


def environment_variables() -> list[tuple[str, str]]:
    """Every ``SALESRADAR_*`` variable ``Settings`` reads, with its default as text, in field
    order; nested settings (the tier thresholds) are spelled with the ``__`` delimiter."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    delimiter = str(Settings.model_config.get("env_nested_delimiter", "__"))
    found: list[tuple[str, str]] = []
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            for sub in type(default).model_fields:
                found.append(
                    (f"{prefix}{name}{delimiter}{sub}".upper(), str(getattr(default, sub)))
                )
        else:
            found.append((f"{prefix}{name}".upper(), str(default)))
    return found


def serve_help() -> str:
    """``serve --help``: what the command does and the environment it reads (one definition:
    the fields of ``Settings``)."""
    lines = [
        "Run the prediction API with uvicorn (one worker).",
        "",
        "Configured from the environment (see .env.example; MLFLOW_TRACKING_URI also works):",
        "",
    ]
    lines += [f"{name}  (default: {default})" for name, default in environment_variables()]
    return "\n\n".join(line for line in lines if line)


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000)")] = None,
) -> None:
    """Run the prediction API with uvicorn (one worker)."""
    import uvicorn

    from serving.api.app import create_app
    from serving.api.logs import configure_logging
    from serving.wiring import build_services

    settings = load_settings()
    configure_logging(settings.log_format)
    app = create_app(build_services(settings))
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        log_level="info",
        log_config=None,  # uvicorn's lines go through configure_logging's handler
        access_log=False,
    )


def run_note_lines(summary: BatchSummary) -> list[str]:
    """The lines ``score`` prints after a run's table: the shadow's outcome, then the attributes
    the champion was trained on that the export lacks, then the cells read otherwise than written
    (per task, attribute and code, with row counts). Names are the export's own, verbatim."""
    lines = []
    for outcome in summary.shadow.values():
        warning = "" if outcome.status == "scored" else "warning: "
        lines.append(f"{warning}shadow: {outcome.line}")
    for task_name, names in summary.missing_attributes.items():
        if names:
            lines.append(
                f"warning: {task_name}: attribute(s) {', '.join(names)} that the model was "
                "trained on are not in the export; read as unknown"
            )
    for task_name, attributes in summary.attribute_notes.items():
        for name, notes in attributes.items():
            counted = ", ".join(f"{rows} row(s) {code}" for code, rows in sorted(notes.items()))
            lines.append(
                f"warning: {task_name}: attribute {name}: {counted} (read as the API reads them; "
                "docs/serving.md, Attribute types)"
            )
    return lines


def score(
    ctx: typer.Context,
    data: DataOption,
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601; default: now")] = None,
    task: Annotated[
        list[Task] | None,
        typer.Option(
            "--task",
            help="Score this task (repeatable: --task leads --task churn). Default: every task "
            "that has a champion and rows in the export; the others are skipped, but a "
            "champion that cannot be loaded stops the run.",
            show_default=False,
        ),
    ] = None,
    keep_runs: Annotated[
        int | None,
        typer.Option(
            "--keep-runs",
            help="Published runs to keep, this one included; older ones are deleted after the "
            "publish (at least 2: 'what changed' needs the previous run). Default: "
            "SALESRADAR_KEEP_RUNS, else 12.",
            show_default=False,
        ),
    ] = None,
    engine: EngineOption = Engine.DUCKDB,
    shadow: Annotated[
        bool | None,
        typer.Option(
            "--shadow/--no-shadow",
            help="Also score the registry's challenger version (when it differs from the "
            "champion) as this run's shadow, never published to lists. Default: "
            "SALESRADAR_SHADOW, else on.",
            show_default=False,
        ),
    ] = None,
    publish_backfill: Annotated[
        bool,
        typer.Option(
            "--publish-backfill",
            help="Publish this run even when its as-of precedes the published run's (a "
            "backfill). Default: a backfill is stored for 'monitor' and the published run stays.",
        ),
    ] = False,
) -> None:
    """Score eligible leads and/or customers into the scores database, published atomically."""
    from features.compute.engines import open_export
    from features.compute.engines.location import export_location
    from features.contract.fingerprint import ExportFingerprint, reuse_fingerprint
    from serving.scoring.batch import check_keep_runs, choose_tasks, score_export
    from serving.scoring.event_coverage import event_type_coverage
    from serving.scoring.shadow import challenger_source, load_challengers
    from serving.wiring import build_services, utc_now

    now = utc_now()
    moment = resolve_as_of(as_of, now=now, allow_future=False)
    location = export_location(data, engine=engine)
    settings = load_settings()
    keep = check_keep_runs(settings.keep_runs if keep_runs is None else keep_runs)
    # Only now the slow part: loading and verifying the champions (seconds).
    with quiet_libraries():  # MLflow's INFO lines and messages are not the CLI's output
        services = build_services(settings)
        reloaded = services.models.reload()
    for result in reloaded:
        if result.error:
            message = escape(f"{result.task}: {result.outcome}: {result.error}")
            console.print(f"[yellow]{message}[/]")
    # A backfill (an as-of before the export's end) ignores the later rows and counts them.
    export = open_export(location, as_of=moment, engine=engine, ignore_later_rows=True)
    if export.later_rows:
        console.print(
            f"backfill: ignored {sum(export.later_rows.values())} timestamp(s) after the as-of "
            f"{iso_utc(moment)}, as rows per file and column ("
            + "; ".join(f"{where}: {rows}" for where, rows in export.later_rows.items())
            + ")",
            highlight=False,
            soft_wrap=True,
        )
    served = {t: services.models.current(t) for t in Task}
    gaps = {t: gap for t in Task if (gap := export.task_gap(t)) is not None}
    # Event types the champion does not know: said per type; a task with no known one is a gap.
    for t, model in served.items():
        if model is None or t in gaps:
            continue
        coverage = event_type_coverage(
            export, task=t, vocabulary=model.model.vocabulary, as_of=moment
        )
        for line in coverage.warning_lines():
            console.print(escape(line), highlight=False, soft_wrap=True)
        if (gap := coverage.gap()) is not None:
            gaps[t] = gap
    try:
        choice = choose_tasks(
            list(dict.fromkeys(task or ())),
            served=served,
            why_not_served={t: services.models.unavailable_reason(t) for t in Task},
            in_export=[t for t in export.tasks() if t not in gaps],
            export_gaps=gaps,
            unloadable=[t for t in Task if services.models.state(t) in ("failed", "unknown")],
        )
    except UserError:
        export.close()
        raise
    console.print(choice.describe(), highlight=False, soft_wrap=True)
    models = choice.scored
    challengers = {}
    if settings.shadow if shadow is None else shadow:
        with quiet_libraries():
            challengers = load_challengers(challenger_source(settings), models, clock=utc_now)
    with Progress(console=console, transient=True) as progress:
        bars = {t: progress.add_task(f"scoring {t.value}", total=None) for t in models}

        def report(task: Task, done: int, total: int) -> None:
            progress.update(bars[task], completed=done, total=total)

        summary = score_export(
            export,
            as_of=moment,
            models=models,
            store=services.store,
            settings=settings,
            explain=services.explain,
            clock=utc_now,
            keep_runs=keep,
            progress=report,
            challengers=challengers,
            # The pipeline hands over the hash it took (in-process only: ctx.obj), else hashed here.
            export_sha256=reuse_fingerprint(location, ctx.find_object(ExportFingerprint))
            if isinstance(location, Path)
            else None,
            publish_backfill=publish_backfill,
        )
    export.close()
    publication = summary.publication
    state = "published" if publication.published else "stored, not published"
    table = Table(title=f"run {summary.run_id} as of {iso_utc(moment)} ({state})")
    for column in ("task", "model", "scored", "tiers"):
        table.add_column(column)
    for scored, model in models.items():
        tiers = ", ".join(f"{k} {v}" for k, v in sorted(summary.tiers[scored.value].items()))
        table.add_row(
            scored.value,
            f"{model.name} v{model.version}",
            str(summary.counts[scored.value]),
            tiers,
        )
    console.print(table)
    if summary.pruned.runs:
        console.print(
            f"removed {summary.pruned.runs} older run(s) ({summary.pruned.rows} scores); "
            f"keeping the newest {keep}",
            highlight=False,
        )
    for line in run_note_lines(summary):
        # The lines quote the export's own names (``Region [EU]``, ``a[/b]``): text, not markup.
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if not publication.published:
        console.print(backfill_line(publication, as_of=moment), highlight=False, soft_wrap=True)
        return  # reps' digests follow the published run, which did not change
    # After the publish and its report: a delivery problem never undoes or fails the run.
    deliver_after_publish(console, settings, services.store)


def backfill_line(publication: Publication, *, as_of: datetime) -> str:
    """The one line ``score`` prints for a backfill run ``publish`` stored without publishing
    (``as_of``: the run's, naive UTC)."""
    later = publication.later_as_of
    return (
        f"stored run {publication.run_id} as-of {iso_utc(as_of)}; not published: the published "
        f"run {publication.later_run_id} has a later as-of "
        f"{'?' if later is None else iso_utc(later)} (--publish-backfill publishes it)"
    )


def _key_store(settings: Settings) -> KeyStore:
    store = ScoreStore.from_url(settings.scores_url)
    store.create_schema()
    return KeyStore(store.engine)


def _check_owner_has_book(store: ScoreStore, owner: str) -> None:
    """Raise a one-line ``UserError`` unless the published run holds a lead or a customer
    owned by ``owner``."""
    store.create_schema()
    books = (store.list_scores(kind, owner_ids=[owner], limit=1) for kind in TASK_KINDS.values())
    if any(book.total for book in books):
        return
    raise UserError(
        f"--owner {owner}: no lead or customer in the published scores is owned by {owner!r} "
        "(a typo?); pass --allow-unknown-owner for a rep who has no book yet"
    )


@keys_app.command("create")
def create_key(
    role: Annotated[Role, typer.Option(help="crm | rep | admin")],
    owner: Annotated[str | None, typer.Option(help="owner_id of the rep (rep keys only)")] = None,
    label: Annotated[str | None, typer.Option(help="who or what holds the key")] = None,
    allow_unknown_owner: Annotated[
        bool,
        typer.Option(
            "--allow-unknown-owner",
            help="Create a rep key for an --owner with no lead or customer in the published "
            "scores (a rep who has no book yet); refused otherwise, since a mistyped owner "
            "would see an empty book.",
        ),
    ] = False,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from serving.wiring import utc_now

    if allow_unknown_owner and role is not Role.REP:
        raise UserError("--allow-unknown-owner only applies to rep keys")
    settings = load_settings()
    if role is Role.REP and owner and not allow_unknown_owner:
        _check_owner_has_book(ScoreStore.from_url(settings.scores_url), owner)
    keys = _key_store(settings)
    try:
        info, token = keys.create(role=role, owner_id=owner, label=label, created_at=utc_now())
    except KeyRequestError as exc:
        raise UserError(str(exc)) from None
    console.print(f"key id {info.key_id} ({info.role}{', owner ' + owner if owner else ''})")
    console.print("store it now, it is not shown again:", style="bold")
    console.print(token, highlight=False, soft_wrap=True)


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument(help="the key id from 'keys list'")]) -> None:
    """Revoke a key; it stops working on the next request."""
    from serving.wiring import utc_now

    try:
        _key_store(load_settings()).revoke(key_id, revoked_at=utc_now())
    except KeyRequestError as exc:
        raise UserError(str(exc)) from None
    console.print(f"revoked {key_id}")


@keys_app.command("list")
def list_keys() -> None:
    """List keys (ids, roles, owners; never secrets)."""
    table = Table()
    for column in ("key id", "role", "owner", "label", "created", "revoked"):
        table.add_column(column)
    for info in _key_store(load_settings()).list():
        table.add_row(
            info.key_id,
            info.role.value,
            info.owner_id or "",
            info.label or "",
            iso_utc(info.created_at),
            iso_utc(info.revoked_at) if info.revoked_at else "",
        )
    console.print(table)


@keys_app.command("quickstart")
def quickstart(
    data: Annotated[Path, typer.Option("--data", help="CRM export folder that was scored")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601; default: now")] = None,
) -> None:
    """Create an admin, a CRM and a rep key and print ready-to-paste requests (make run)."""
    from features.contract.loading import load_export
    from serving.api.quickstart import prepare_quickstart
    from serving.wiring import utc_now

    now = utc_now()
    moment = resolve_as_of(as_of, now=now, allow_future=False)
    check_directory(data, option="--data")
    settings = load_settings()
    store = ScoreStore.from_url(settings.scores_url)
    store.create_schema()
    export = load_export(data, as_of=moment)
    try:
        start = prepare_quickstart(
            store=store,
            keys=KeyStore(store.engine),
            export=export,
            as_of=moment,
            created_at=now,
            payload_dir=settings.served_dir.parent,
            base_url=f"http://{settings.host}:{settings.port}",
        )
    finally:
        export.close()
    console.print("[bold]Keys (shown once; only their hashes are stored):[/]")
    console.print(f"  admin  {start.admin_key}", highlight=False, soft_wrap=True)
    console.print(f"  crm    {start.crm_key}", highlight=False, soft_wrap=True)
    console.print(
        f"  rep    {start.rep_key}  (owner {start.rep_owner_id})", highlight=False, soft_wrap=True
    )
    for what, command in start.curls():
        console.print(f"\n[bold]# {what}[/]")
        console.print(command, highlight=False, soft_wrap=True, markup=False)


actions_app = typer.Typer(
    help="Reps' recorded actions (contacted, won back, ...).", no_args_is_help=True
)


@actions_app.command("export")
def export_actions(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (replaced whole)")],
) -> None:
    """Write every action reps recorded on the pages to a CSV file, for outcome analysis."""
    from serving.store.actions import ActionStore

    if not out.parent.is_dir():
        raise UserError(f"--out {out}: no such folder {out.parent}")
    actions = ActionStore(ScoreStore.from_url(load_settings().scores_url).engine)
    actions.create_schema()
    console.print(
        f"wrote {actions.write_csv(out)} action(s) to {out}", highlight=False, soft_wrap=True
    )


def register(app: typer.Typer) -> None:
    """Add the serving commands to the root CLI."""
    app.command("serve", help=serve_help())(serve)
    app.command("score")(score)
    app.add_typer(keys_app, name="keys")
    app.add_typer(actions_app, name="actions")
    app.command("notify")(notify)
    app.command("export-scores")(export_scores)
