"""Commands of the learning half: ``train`` and ``evaluate``.

Each command parses its options, calls one library function (:func:`convfx.nn.train`,
:func:`convfx.nn.evaluate`) and reports; the maths lives in :mod:`convfx.nn`, the
drawing in the plots module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import ParameterError
from ..nn import config as nn_config
from ..nn.config import TrainConfig
from .app import Command, app, console, err_console, model_input, reporting_errors, say
from .click_classes import printable
from .options import FORCE_HELP, SHIPPED_MODELS_HELP, Choice, choices

if TYPE_CHECKING:
    from ..nn.training import Evaluation
    from ..nn.training import Progress as TrainingProgress

# The network itself (convfx.nn.layers, .train, ...) is imported inside the commands:
# only the options' choices and defaults are needed to build the command line.
if TYPE_CHECKING:
    Optimizer = Choice
    Schedule = Choice
    Activation = Choice
    Pooling = Choice
else:
    Optimizer = choices("Optimizer", nn_config.OPTIMIZERS)
    Schedule = choices("Schedule", nn_config.SCHEDULES)
    Activation = choices("Activation", nn_config.ACTIVATIONS)
    Pooling = choices("Pooling", nn_config.POOLINGS)

_DEFAULTS = TrainConfig()
_DATASET_HELP = (
    "'digits' (scikit-learn's 8x8 digits, bundled), 'shapes' (generated RGB shapes), 'photos' / 'photos-rgb' "
    "(which bundled photo a 32x32 patch comes from), 'photos:DIR' (the same with your own photos, 8 or more), "
    "'cifar10:PATH' (the CIFAR-10 binary files), a folder of class sub-folders (root/cat/*.jpg ...), "
    "or a folder of MNIST/Fashion-MNIST IDX files."
)


def _default_help(field: str) -> str:
    """``"Default: 60; 10 for photos, photos-rgb; ..."``: TrainConfig's default and the data sets' own."""
    by_value: dict[object, list[str]] = {}
    folder_epochs = field == "epochs" and field in nn_config.DATASET_DEFAULTS.get("photos:DIR", {})
    for dataset, settings in nn_config.DATASET_DEFAULTS.items():
        if field in settings and not (folder_epochs and dataset == "photos:DIR"):
            by_value.setdefault(settings[field], []).append(dataset)
    parts = [f"{getattr(_DEFAULTS, field):g}"] + [f"{value:g} for {', '.join(names)}" for value, names in by_value.items()]
    if folder_epochs:
        least = nn_config.DATASET_DEFAULTS["photos:DIR"]["epochs"]
        parts.append(f"for photos:DIR enough for {nn_config.FOLDER_STEPS} steps, at least {least}")
    return "Default: " + "; ".join(parts) + "."


@app.command("train", cls=Command)
def train_command(
    dataset: Annotated[str, typer.Option("--dataset", "-d", metavar="DATASET", help=_DATASET_HELP)] = nn_config.DEFAULT_DATASET,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs", "-e", min=1, help="Passes over the training set.  " + _default_help("epochs"), show_default=False
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", min=1, help="Training images per step (one gradient update).")
    ] = _DEFAULTS.batch_size,
    lr: Annotated[
        float | None,
        typer.Option(
            "--lr",
            min=0.0,
            help="Peak learning rate.  Default: "
            + ", ".join(f"{rate:g} for {name}" for name, rate in nn_config.DEFAULT_LR.items())
            + ".",
            show_default=False,
        ),
    ] = None,
    optimizer: Annotated[Optimizer, typer.Option(help=f"sgd (with momentum {_DEFAULTS.momentum:g}) or adam.")] = Optimizer(
        _DEFAULTS.optimizer
    ),
    weight_decay: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="L2 decay of conv/linear weights (sgd; decoupled for adam).  " + _default_help("weight_decay"),
            show_default=False,
        ),
    ] = None,
    schedule: Annotated[Schedule, typer.Option(help="Learning-rate schedule after a 1-epoch warm-up.")] = Schedule(
        _DEFAULTS.schedule
    ),
    shift: Annotated[
        int, typer.Option(min=0, max=8, help="Random translation of training images, up to this many pixels (0: off).")
    ] = _DEFAULTS.shift,
    activation: Annotated[Activation, typer.Option(help="LeNet's activation.")] = Activation(_DEFAULTS.activation),
    pooling: Annotated[Pooling, typer.Option(help="LeNet's 2x2 pooling.")] = Pooling(_DEFAULTS.pooling),
    # The upper bound (2**63 - 1, what the model file can record) is TrainConfig's:
    # as a typer max it would fill the help's column with 19 digits.
    seed: Annotated[
        int, typer.Option(min=0, help="Seeds initial weights, shuffling and shifts (not the data split).")
    ] = _DEFAULTS.seed,
    workers: Annotated[
        int, typer.Option(min=1, help="Threads sharing each batch; results depend on it by float rounding.")
    ] = _DEFAULTS.workers,
    snapshots: Annotated[
        bool, typer.Option("--snapshots", help="Keep conv1's kernels after every epoch in the model file.")
    ] = False,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Model file to write (.npz).")] = Path(
        "model.npz"
    ),
    force: Annotated[bool, typer.Option("--force", "-f", help=FORCE_HELP)] = False,
) -> None:
    """Train LeNet-5 on a data set and save it; report held-out accuracy.

    The defaults reach >= 98.5 % on digits in well under a minute; on photos
    most first-layer kernels become edge detectors.  The same options
    and seed give the same model.

    Examples:

        convfx train  # digits -> model.npz

        convfx train --dataset photos -o photos.npz  # then: compare photos.npz

        convfx train --dataset photos:~/Pictures/holiday -o mine.npz

        convfx train --dataset ~/data/mnist --epochs 10 --snapshots -o mnist.npz
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from .. import nn
    from ..nn import lenet

    with reporting_errors():
        if output.suffix.lower() != ".npz" and not os.path.isdir(output):  # a folder is check_model_destination's to say
            raise ParameterError(f"output: {output}: unsupported file type {output.suffix or '(none)'!r}; expected '.npz'")
        lenet.check_model_destination(output, overwrite=force)
        options = dict(
            batch_size=batch_size,
            lr=lr,  # None: the optimizer's own (nn.config.DEFAULT_LR)
            optimizer=optimizer.value,
            schedule=schedule.value,
            shift=shift,
            activation=activation.value,
            pooling=pooling.value,
            seed=seed,
            snapshots=snapshots,
            workers=workers,
        )
        # Not given: the data set's own default (TrainConfig.for_dataset), else TrainConfig's.
        options.update({name: value for name, value in (("epochs", epochs), ("weight_decay", weight_decay)) if value is not None})
        TrainConfig.for_dataset(dataset, **options)  # a bad option is refused before the data are read
        data = nn.load_dataset(dataset)
        config = TrainConfig.for_dataset(dataset, train_images=len(data.train_labels), **options)
        with Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[accuracy]:6.2%}  test {task.fields[test]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,  # else rich still ends with a blank line on a log file
        ) as bar:
            steps = config.epochs * -(-len(data.train_labels) // batch_size)
            task = bar.add_task("train", total=steps, epoch=f"1/{config.epochs}", loss=float("nan"), accuracy=0.0, test="-")

            def show(event: TrainingProgress) -> None:
                # rich's task fields are free-form (``**fields: Any``): the columns above read them.
                fields: dict[str, Any] = {
                    "epoch": f"{event.epoch}/{event.epochs}",
                    "loss": event.loss,
                    "accuracy": event.accuracy,
                }
                if event.test_accuracy is not None:
                    fields["test"] = f"{event.test_accuracy:.2%}"
                bar.update(task, advance=1, **fields)

            result = nn.train(data, config, progress=show)
        result.model.save(output, overwrite=force)
    correct = int(round(result.test_accuracy * len(data.test_labels)))
    say(
        f"{data.name}: held-out accuracy {result.test_accuracy:.2%} ({correct}/{len(data.test_labels)}) "
        f"after {config.epochs} epochs in {result.seconds:.1f} s; saved {output}"
    )


@app.command("evaluate", cls=Command)
def evaluate_command(
    model_path: Annotated[
        Path,
        typer.Argument(
            metavar="MODEL",
            help=f"A model file from `convfx train`, or {SHIPPED_MODELS_HELP} (the shipped models).",
            show_default=False,
            readable=False,
        ),
    ],
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            "-d",
            metavar="DATASET",
            help=_DATASET_HELP + "  Default: the one the model was trained on.",
            show_default=False,
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", metavar="FILE", help="Also draw the confusion matrix to this file (.png, .svg, .pdf).", show_default=False
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite the --plot file if it exists.")] = False,
) -> None:
    """Accuracy and confusion matrix of a model on a data set's held-out images.

    The held-out split is the one `convfx train` kept aside, so the accuracy is on
    images the model never trained on.

    Examples:

        convfx evaluate model.npz  # on the data set it was trained on

        convfx evaluate digits --plot confusion.png  # the shipped digits model
    """
    from .. import nn, plots
    from ..nn.inspect import load_model

    with reporting_errors(model_input(model_path), model="MODEL", path="MODEL"):
        model = load_model(model_path)  # a file, or a shipped model's name
        if plot is not None:
            plots.figures.refuse_existing(plots.check_figure_path(plot), overwrite=force)
        data = nn.evaluation_data(model, dataset, source=str(model_path))
        result = nn.evaluate(model, data.test_images, data.test_labels)
        if plot is not None:
            figure = plots.confusion_matrix_figure(
                result.confusion, result.class_names, title=f"{model_path.name} on {data.name}: {result.accuracy:.2%}"
            )
            plots.save_figure(figure, plot, overwrite=force)
    _print_confusion_table(result, title=printable(f"{model_path} on {data.name} (held-out split)"))
    drawn = f"; confusion matrix drawn to {plot}" if plot else ""
    say(f"accuracy {result.accuracy:.2%} ({result.correct}/{result.total}){drawn}")


def _print_confusion_table(result: Evaluation, *, title: str) -> None:
    """Rows: true class; columns: predicted class; last column: the class's accuracy.

    Where the matrix does not fit, each true class is a block: its accuracy, then
    what it was predicted as, most often first.
    """
    from rich.text import Text

    from .tables import Column, Record, print_table

    columns = [
        Column("true \\ predicted", style="bold"),
        *(Column(name, justify="right") for name in result.class_names),
        Column("correct", justify="right"),
    ]
    rows: list[list[str | Text]] = []
    records = []
    for row, name in enumerate(result.class_names):
        counts = result.confusion[row]
        cells: list[str | Text] = [
            Text(str(count), style="green" if column == row else ("red" if count else "dim"))
            for column, count in enumerate(counts)
        ]
        total = int(counts.sum())
        correct = f"{counts[row] / total:.1%}" if total else "-"
        rows.append([name, *cells, correct])
        predicted = sorted((int(-count), column) for column, count in enumerate(counts) if count)
        guesses = ", ".join(f"{result.class_names[column]} ({-count})" for count, column in predicted)
        records.append(Record(Text(name, style="bold"), [("correct", correct), ("predicted as", guesses or "-")]))
    print_table(console, columns, rows, title=title, records=records)
