"""Commands that compare learned kernels with classic ones: ``compare``, ``export-bank``.

Each command parses its options, calls one library function
(:func:`convfx.compare.compare_model`, :func:`convfx.compare.export_bank`) and
reports; the scores live in :mod:`convfx.compare`, the drawings in
:mod:`convfx.plots`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .. import imageio
from .app import Command, Input, app, console, model_input, reporting_errors, say
from .click_classes import printable
from .options import DEFAULT_KERNEL_SCALE, DEFAULT_MODEL_HELP, FORCE_HELP, SHIPPED_MODELS_HELP, KernelScale

if TYPE_CHECKING:
    from .. import compare

# compare_model's and export_bank's defaults, written here because importing convfx.compare
# loads the network, which the command line must not pay for at start-up
# (tests/test_dependencies.py); tests/test_cli_help.py keeps them equal to the library's.
_DRAWS = 1000
_PREFIX = "learned"

_MODEL_HELP = (
    f"A LeNet .npz from `convfx train`, {SHIPPED_MODELS_HELP} (the shipped models), or any .npz/.safetensors "
    "file with --key naming a 4-D conv weight (F, C, kh, kw)."
)
_KEY_HELP = "The 4-D weight to take, e.g. conv1.weight of a ResNet.  Default: conv1.weight, else the file's only 4-D array."


def _print_match_table(result: compare.Comparison) -> None:
    from .tables import Column, print_table

    rgb = result.weights.channels == 3
    columns = [
        Column("kernel", justify="right"),
        Column("best classic match"),
        Column("transform"),
        Column("similarity", justify="right"),
        Column("norm", justify="right"),
        *([Column("R / G / B", justify="right", label="similarity per channel R / G / B")] if rgb else []),
        Column("plain: standard 5x5", label="plain standard 5x5 match"),
        Column("|cos|", justify="right", label="its |cos|"),
    ]
    rows = []
    for match, plain in zip(result.matches, result.plain_matches):
        how = match.transform + (", -1" if match.sign < 0 else "")
        cells = [f"#{match.index}", match.name, how, f"{match.similarity:.3f}", f"{match.norm:.3g}"]
        if rgb:
            cells.append(" / ".join(f"{value:.2f}" for value in match.channel_similarity))
        cells += [plain.name, f"{plain.similarity:.3f}"]
        rows.append(cells)
    title = f"{result.weights.source}  {result.weights.key} {tuple(result.weights.weight.shape)}"
    print_table(console, columns, rows, title=printable(title))


def _print_class_table(result: compare.Comparison) -> None:
    """Each kernel's class with the numbers that decided it (:mod:`convfx.kernel_classes`)."""
    from ..kernel_classes import MEAN_RATIO_LIMIT, MINORITY_LIMIT, SIMILARITY_LIMIT
    from .tables import Column, print_table

    caption = (
        f"edge detector: zero-mean ratio |sum w| / sum |w| <= {MEAN_RATIO_LIMIT:g} and similarity >= {SIMILARITY_LIMIT:g} "
        f"with a derivative; smoothing: weaker sign <= {MINORITY_LIMIT:g} of sum |w| and similarity >= "
        f"{SIMILARITY_LIMIT:g} with a blur; else other.  Similarity: |cosine|, best over rotations, flips and sign"
        + ("; colour kernels read colour-free (their best colour times pattern)." if result.weights.channels > 1 else ".")
    )
    columns = [
        Column("kernel", justify="right"),
        Column("class"),
        Column("zero-mean ratio", justify="right"),
        Column("closest derivative"),
        Column("similarity", justify="right", label="derivative similarity"),
        Column("weaker sign", justify="right"),
        Column("closest blur"),
        Column("similarity", justify="right", label="blur similarity"),
        Column("norm (of largest)", justify="right"),
    ]
    rows = []
    for found in result.classes:
        kind = found.kind + (" (colour-opponent)" if found.opponent and found.kind == "edge detector" else "")
        derivative = found.derivative + ("" if found.derivative_transform == "identity" else f", {found.derivative_transform}")
        rows.append(
            [
                f"#{found.index}",
                kind,
                f"{found.mean_ratio:.3f}",
                derivative,
                f"{found.derivative_similarity:.3f}",
                f"{found.minority:.3f}",
                found.blur,
                f"{found.blur_similarity:.3f}",
                f"{found.norm:.3g} ({found.relative_norm:.2f})",
            ]
        )
    print_table(console, columns, rows, title="kernel classes", caption=caption, heading_columns=2)


def _count_line(result: compare.Comparison) -> str:
    """``"5 of 6 kernels are edge detectors (random initialisations: 0.09 of 6)"``, with the baseline's own shape."""
    f, c, kh, kw = result.class_baseline.shape
    random = "random initialisations" if (kh, kw) == (5, 5) else f"random {kh}x{kw} initialisations"
    line = f"{result.edge_detectors} of {f} kernels are edge detectors ({random}: {result.class_baseline})"
    if (kh, kw) != (5, 5):
        line += "; the rule's thresholds are set for 5x5 kernels, so compare with this baseline"
    return line


@app.command("compare", cls=Command)
def compare_command(
    model: Annotated[
        str | None, typer.Argument(metavar="MODEL", help=f"{_MODEL_HELP}  {DEFAULT_MODEL_HELP}", show_default=False)
    ] = None,
    image: Annotated[
        Path | None,
        typer.Option(
            "--image",
            "-i",
            metavar="FILE",
            help="Photo for the response panels.  Default: scikit-image's chelsea.",
            show_default=False,
            readable=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Figure to write (.png/.svg/.pdf; .gif too with --evolution).  Default: compare.png (evolution.png).",
            show_default=False,
        ),
    ] = None,
    key: Annotated[str | None, typer.Option(metavar="NAME", help=_KEY_HELP, show_default=False)] = None,
    evolution: Annotated[
        bool,
        typer.Option("--evolution", help="Draw how conv1 changed epoch by epoch (needs `convfx train --snapshots`)."),
    ] = False,
    draws: Annotated[int, typer.Option(min=2, help="Random kernel banks drawn for the baseline (2 or more).")] = _DRAWS,
    scale: Annotated[
        KernelScale,
        typer.Option(
            help="Kernel colours: shared (one scale for every kernel, so a kernel the network hardly uses looks faint) "
            "or per-kernel (each stretched to its own largest weight).",
        ),
    ] = DEFAULT_KERNEL_SCALE,
    force: Annotated[bool, typer.Option("--force", "-f", help=FORCE_HELP)] = False,
) -> None:
    """Match learned first-layer kernels to classic ones (Sobel, Laplacian, Gaussian...), with scores.

    The similarity is |cosine| of the flattened kernels (channel mean for RGB), best
    over every classic kernel and its 8 rotations/flips; the baseline is the same
    score for random kernels from the training initialisation.  The plain column is
    |cosine| against the standard 5x5 set without rotations.  Each kernel is also
    classed as an edge detector, smoothing or other, and the number of edge
    detectors is put next to that of random kernels.

    Examples:

        convfx compare  # the shipped photos model -> compare.png

        convfx compare model.npz --image photo.jpg -o compare.png

        convfx compare resnet18.safetensors --key conv1.weight -o resnet.png

        convfx compare photos --evolution -o evolution.gif

        convfx compare shapes --scale per-kernel -o shapes.png
    """
    from .. import compare

    with reporting_errors(model_input(model), Input(image, "an image file"), plot="--output"):
        destination = output or Path("evolution.png" if evolution else "compare.png")
        from .. import plots  # matplotlib is slow to import; only drawing needs it

        suffixes = (*plots.PLOT_SUFFIXES, ".gif") if evolution else plots.PLOT_SUFFIXES
        plots.figures.refuse_existing(plots.check_figure_path(destination, suffixes=suffixes, name="output"), overwrite=force)

        photo = imageio.read_image(image).pixels if image is not None else None
        result = compare.compare_model(model, key=key, draws=draws)
        written = plots.save_compare_figures(
            result, destination, image=photo, evolution=evolution, scale=scale.value, overwrite=force
        )
    _print_match_table(result)
    _print_class_table(result)
    if evolution and result.evolution is not None:
        epochs = ", ".join(f"{e}: {score:.2f}" for e, score in enumerate(result.evolution[:, 0]))
        say(f"score per epoch (0 = initialisation): {epochs}")
        counts = ", ".join(f"{e}: {count:.0f}" for e, count in enumerate(result.evolution[:, 2]))
        say(f"edge detectors per epoch: {counts}")
    say(_count_line(result))
    accuracy = "" if result.accuracy is None else f"held-out accuracy {result.accuracy:.2%}; "
    say(
        f"{accuracy}mean best similarity {result.score:.3f} (random kernels {result.baseline}, "
        f"{result.baseline.draws} draws); plain standard-5x5 {result.plain_score:.3f} (random {result.plain_baseline})"
    )
    say(f"wrote {written}")


@app.command("export-bank", cls=Command)
def export_bank_command(
    model: Annotated[str, typer.Argument(metavar="MODEL", help=_MODEL_HELP, show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Filter-bank file to write (.toml).")] = Path(
        "learned.toml"
    ),
    key: Annotated[str | None, typer.Option(metavar="NAME", help=_KEY_HELP, show_default=False)] = None,
    prefix: Annotated[str, typer.Option(metavar="NAME", help="Start of every filter name: NAME_0, NAME_1, ...")] = _PREFIX,
    force: Annotated[bool, typer.Option("--force", "-f", help=FORCE_HELP)] = False,
) -> None:
    """Write a model's learned kernels as a filter bank, usable wherever a kernel file is.

    Each kernel NAME_k is summed over the model's input channels; an RGB model also
    gets NAME_k_r, NAME_k_g and NAME_k_b, one per channel.

    Examples:

        convfx export-bank digits -o my.toml

        convfx apply my.toml#learned_3 photo.jpg
    """
    from .. import compare
    from ..nn.weights import load_weights

    with reporting_errors(model_input(model), path="MODEL"):
        weights = load_weights(model, key=key)
        written = compare.export_bank(weights, output, prefix=prefix, overwrite=force)
    count = weights.weight.shape[0]
    per_channel = " (and _r/_g/_b per channel)" if weights.channels == 3 else ""
    say(f"wrote {written}: {count} kernels {prefix}_0 .. {prefix}_{count - 1}{per_channel}")
