"""Command that filters whole folders: ``batch``.

It parses the options, calls :func:`convfx.batch.run_batch` once and reports: a
progress bar on stderr while it runs (unless ``--quiet``), one line per failed
file on stderr and a summary line on stdout at the end.  Walking, workers, the
manifest, Dask and the memory budget all live in :mod:`convfx.batch`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .. import batch
from .app import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Command,
    app,
    check_input,
    err_console,
    file_message,
    reporting_errors,
    say,
)
from .click_classes import printable
from .options import (
    EFFECT_HELP,
    Boundary,
    BoundaryOption,
    GrayOption,
    MaxPixelsOption,
    MemoryBudgetOption,
    RangeOption,
    library_default,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class _Reporter:
    """The progress bar and the per-file lines of one run."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.progress: Progress | None = None
        self.task_id: TaskID | None = None

    def start(self, to_render: int, skipped: int) -> None:
        if self.quiet:
            return
        if skipped:
            err_console.print(
                f"skipping {skipped} file(s) already done with these parameters (--force redoes them)", markup=False
            )
        # Imported here: rich.progress takes a tenth of a second that other commands need not pay.
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}", style="progress.data.speed"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=err_console,
            transient=False,
        )
        self.progress.start()
        self.task_id = self.progress.add_task("filtering", total=to_render, rate="")

    def file(self, outcome: batch.FileOutcome) -> None:
        if self.progress is not None and self.task_id is not None:
            self.progress.advance(self.task_id)
            speed = self.progress.tasks[0].speed
            self.progress.update(self.task_id, rate="" if speed is None else f"{speed:.1f} files/s")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _report(summary: batch.BatchSummary, *, quiet: bool) -> None:
    for outcome in sorted(summary.failed, key=lambda item: str(item.source)):
        err_console.print(f"convfx: failed: {printable(file_message(outcome.reason))}", markup=False)
    if quiet:
        return
    state = "interrupted: " if summary.interrupted else ""
    say(
        f"{state}{len(summary.done)} done, {len(summary.skipped)} skipped, {len(summary.failed)} failed "
        f"in {summary.seconds:.1f} s -> {summary.outdir}"
    )


@app.command("batch", cls=Command)
def batch_command(
    effect: Annotated[str, typer.Argument(metavar="EFFECT", help=EFFECT_HELP, show_default=False)],
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="INPUTS",
            help="Image files and folders; folders are walked recursively (names starting with '.' are skipped).",
            show_default=False,
            # An unreadable file is that file's failure, reported by the run (exit 1); a missing
            # input or a FIFO is a usage error (exit 2), refused before the run.
            readable=False,
        ),
    ],
    output: Annotated[
        str,  # not Path, which would turn '' into '.': the library refuses an empty name
        typer.Option(
            "--output",
            "-o",
            metavar="OUTDIR",
            help="Output folder (created if needed); mirrors the input folders' trees. Must not be inside an input folder.",
            show_default=False,
        ),
    ],
    include: Annotated[
        list[str] | None,
        typer.Option(
            metavar="GLOB",
            help="Only files matching this glob (path relative to its input folder, or name; any case). Repeatable.",
            show_default=False,
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(metavar="GLOB", help="Leave out files and folders matching this glob. Repeatable.", show_default=False),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes (1: in this process). Default: one per core.", show_default=False),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", "-f", help="Redo every file, and replace outputs the run manifest does not know."),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no summary line (failures still go to stderr).")
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            envvar=batch.SCHEDULER_ENVIRONMENT_VARIABLE,
            metavar="ADDRESS",
            help="Run on a Dask cluster (tcp://host:8786); its workers must see INPUTS and OUTDIR at the same paths. "
            "Needs pip install 'convfx\\[dask]'.",
            show_default=False,
        ),
    ] = None,
    memory_budget: MemoryBudgetOption = batch.format_byte_size(library_default(batch.run_batch, "memory_budget")),
    boundary: BoundaryOption = Boundary(library_default(batch.run_batch, "boundary")),
    output_range: RangeOption = None,
    gray: GrayOption = None,
    max_pixels: MaxPixelsOption = library_default(batch.run_batch, "max_pixels"),
) -> None:
    """Apply an effect to every image in files and folders, in parallel, resumably.

    Writes OUTDIR/<same folders>/<stem>_<effect>.png, atomically.

    A manifest in OUTDIR lets a rerun skip files done with the same effect and options.

    Bad files are reported and the run goes on. Exit code: 0 all done, 1 some failed,
    2 usage error (also: an input is missing or not a file or folder, or the inputs
    hold no image), 130 interrupted (Ctrl-C or SIGTERM; rerun to finish).

    Examples:

        convfx batch sobel photos/ -o edges/

        convfx batch gaussian_blur,sobel photos/ scans/ -o out/ --workers 4

        convfx batch sobel photos/ -o out/ --include '*.jpg' --exclude 'raw/*'

        CONVFX_SCHEDULER=tcp://head:8786 convfx batch sobel /data/in -o /data/out
    """
    for source in inputs:
        check_input(source, what="an image file or folder", folders=True, argument="INPUTS")
    reporter = _Reporter(quiet)
    with reporting_errors(outdir="--output"):
        try:
            summary = batch.run_batch(
                effect,
                inputs,
                output,
                include=include or (),
                exclude=exclude or (),
                boundary=boundary.value,
                output_range=None if output_range is None else output_range.value,
                gray=gray,
                max_pixels=max_pixels,
                workers=workers,
                force=force,
                scheduler=scheduler or None,
                memory_budget=memory_budget,
                on_start=reporter.start,
                on_file=reporter.file,
            )
        except batch.BatchInterrupted as stop:
            reporter.stop()
            _report(stop.summary, quiet=quiet)
            err_console.print("convfx: interrupted; rerun the same command to finish", markup=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        finally:
            reporter.stop()
    _report(summary, quiet=quiet)
    raise typer.Exit(EXIT_FAILED if summary.failed else EXIT_OK)
