"""``civid abis dedup-bulk``, the deduplication of an existing register (``civid abis worker`` is in server/cli.py).

``civid abis dedup-bulk`` searches every issued person's face against everyone (or one imported batch's people,
``--batch``), re-ranks the candidates exactly with the fingers, writes a CSV and a JSON report and opens a case
for each pair at or above the fused threshold. Ctrl-C or a kill stops it after the last finished batch; ``--resume
RUN`` carries on from there (enrollment/dedup_bulk.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from civid.actor import Actor
from civid.errors import CividError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from enrollment.dedup_bulk import RunProgress
    from server.services import Services

abis_app = typer.Typer(help="The ABIS: deduplication jobs and bulk deduplication of a register", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
CLI_ACTOR = Actor(None, "cli", "admin")
INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C
# Set by install(): the command line's top module builds the services (gallery not opened: the run builds its own).
_build_services: Callable[[], Services] | None = None


def install(app: typer.Typer, build_services: Callable[[], Services]) -> None:
    """Give ``civid abis dedup-bulk`` the process's services (``build_services``); server/cli.py adds the group to
    ``app`` (with its ``worker`` command)."""
    global _build_services
    _build_services = build_services


@abis_app.command("dedup-bulk")
def dedup_bulk(
    batch: str | None = typer.Option(None, help="Only this imported batch's people (its id), against everyone"),
    resume: str | None = typer.Option(None, help="Carry on an interrupted run (its id); its own options apply"),
    neighbours: int = typer.Option(10, "--neighbours", "-k", min=1, help="Nearest faces searched per face"),
    nprobe: int = typer.Option(64, min=1, help="IVF lists visited per face (galleries above --exact-max)"),
    exact_max: int | None = typer.Option(None, help="Exact search up to this many faces; default the gallery's"),
    batch_size: int = typer.Option(10_000, min=1, help="Faces searched per batch (progress is saved after each)"),
    min_face_score: float | None = typer.Option(None, help="Cosine floor of a candidate; default dedup_threshold"),
    max_batches: int | None = typer.Option(None, min=1, help="Stop after this many batches (resume later)"),
    out_dir: Path | None = typer.Option(None, "--out", help="Report folder; default <data_dir>/reports"),
) -> None:
    """Deduplicate the register: candidate pairs with fused scores (CSV + JSON) and cases for adjudicators."""
    from enrollment import dedup_bulk as bulk
    from enrollment.dedup_bulk_report import write_reports
    from matcher.bulk_pairs import ScanOptions

    if resume is not None and batch is not None:
        _fail("--resume carries on a run with its own batch and options; give either --resume or --batch")
    assert _build_services is not None, "server.abis_cli.install was not called"
    services = _build_services()
    try:
        settings = services.settings
        if resume is None:
            options = bulk.BulkOptions(
                ScanOptions(
                    neighbours=neighbours,
                    exact_max=exact_max if exact_max is not None else settings.gallery_exact_max,
                    nprobe=nprobe,
                    batch_size=batch_size,
                    min_score=min_face_score if min_face_score is not None else settings.dedup_threshold,
                ),
                llr_threshold=settings.dedup_llr_threshold,
            )
            run_id = bulk.start_run(services, CLI_ACTOR, options, batch)
            out.print(f"bulk dedup run {run_id} started")
        else:
            run_id = resume
        with _progress() as progress:
            try:
                run = bulk.execute(services, CLI_ACTOR, run_id, _callbacks(progress), max_batches=max_batches)
            except KeyboardInterrupt:
                progress.stop()
                err.print(f"interrupted: resume with 'civid abis dedup-bulk --resume {run_id}'")
                raise typer.Exit(INTERRUPTED) from None
        with services.sessions() as session:
            run = bulk.load_run(session, run_id)
            csv_path, json_path = write_reports(session, run, out_dir or settings.data_dir / "reports")
        state = "completed" if run.status == "completed" else f"stopped; resume with --resume {run_id}"
        out.print(
            f"run {run_id} {state}: {run.queries_done} of {run.queries_total} faces searched, "
            f"{run.pairs_found} candidate pairs, {run.cases_opened} cases opened"
        )
        out.print(f"report: {csv_path} and {json_path}")
    except CividError as exc:
        _fail(exc.detail)
    finally:
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def _progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    )


def _callbacks(progress: Progress) -> RunProgress:
    """Two bars: decrypting the templates, then searching the faces (with the pairs found so far)."""
    from enrollment.dedup_bulk import RunProgress

    tasks: dict[str, TaskID] = {}
    found = [0]

    def loading(total: int) -> None:
        tasks["load"] = progress.add_task("Decrypting face templates", total=total)

    def searching(total: int, done: int) -> None:
        tasks["search"] = progress.add_task("Searching faces (0 pairs)", total=total, completed=done)

    def searched(queries: int, pairs: int) -> None:
        found[0] += pairs
        progress.update(tasks["search"], advance=queries, description=f"Searching faces ({found[0]} pairs)")

    return RunProgress(
        loading=loading,
        loaded=lambda count: progress.advance(tasks["load"], count),
        searching=searching,
        searched=searched,
    )
