"""Regenerate the README figures in ``samples/readme/`` from the bundled photo and the shipped models.

Run from anywhere, with convfx installed (``pip install -e .``)::

    python tools/make_figures.py                     # every figure
    python tools/make_figures.py --groups filters    # the gallery, the kernels, Canny's stages

A developer tool, not part of the installed package: it orchestrates the
library's own drawing functions (:mod:`convfx.plots`) on the repository's
``samples/`` and writes over the committed figures.  It draws nothing itself.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from convfx import compare, edges, imageio, models
from convfx import explain as explain_steps
from convfx.errors import ParameterError
from convfx.nn import inspect as nn_inspect
from convfx.plots import (
    canny_figure,
    compare_figure,
    evolution_figure,
    gallery_figure,
    kernel_figure,
    network_figure,
    save_explanation,
    save_figure,
    save_tour,
)

__all__ = [
    "README_KERNELS",
    "README_FIGURE_GROUPS",
    "write_readme_figures",
    "write_compare_figures",
    "write_network_figures",
    "main",
]

#: The repository's samples folder: the photos, and the README figures in ``readme/``.
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
#: Kernels drawn in the README's kernel figure.
README_KERNELS = ("sobel_x", "laplacian", "gaussian_blur", "sharpen", "emboss")
#: The groups of README figures, each redrawn by itself with ``--groups``.
README_FIGURE_GROUPS = ("filters", "network", "compare")


def write_readme_figures(
    samples: str | os.PathLike = SAMPLES,
    *,
    sample: str = "chelsea.jpg",
    out: str | os.PathLike | None = None,
    groups: Sequence[str] = README_FIGURE_GROUPS,
) -> list[Path]:
    """Regenerate the README figures: ``gallery.png``, ``kernels.png``, ``canny_stages.png``, :func:`write_network_figures` and :func:`write_compare_figures`.

    Parameters
    ----------
    samples : path-like, optional
        The repository's ``samples/`` folder.
    sample : str
        The photo (in ``samples``) that the gallery filters and Canny explains.
    out : path-like, optional
        Destination folder, created if missing; default ``samples/readme``.
    groups : sequence of {"filters", "network", "compare"}
        Which figures: the gallery, kernels and Canny stages; the tour, the
        convolution animations (2-D and 3-D) and the networks as volumes; the
        learned-vs-classic figures.

    Returns
    -------
    list of Path
        The files written (replaced if they existed).
    """
    samples = Path(samples)
    out = Path(out) if out is not None else samples / "readme"
    out.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(groups) - set(README_FIGURE_GROUPS))
    if unknown:
        raise ParameterError(f"groups: unknown {unknown}; expected some of {list(README_FIGURE_GROUPS)}")
    picture = imageio.read_image(samples / sample)
    written: list[Path] = []
    if "filters" in groups:
        written += [
            save_figure(gallery_figure(picture.pixels), out / "gallery.png", overwrite=True),
            save_figure(
                kernel_figure(",".join(README_KERNELS), title="Kernels as applied to the pixels (correlation)"),
                out / "kernels.png",
                overwrite=True,
            ),
            save_figure(
                canny_figure(edges.canny_stages(picture.pixels, sigma=2.0), picture.pixels),
                out / "canny_stages.png",
                overwrite=True,
            ),
        ]
    if "network" in groups:
        written += write_network_figures(out)  # skips the tour without the shipped model
    if "compare" in groups:
        written += write_compare_figures(out, image=picture.pixels)
    return written


def write_compare_figures(out: str | os.PathLike, *, image: np.ndarray | None = None) -> list[Path]:
    """The README's learned-vs-classic figures, from the shipped models.

    Writes ``compare.png`` and ``evolution.png`` (the default model, trained on
    photos), ``compare_digits.png`` (the gray digits model, for the contrast) and
    ``compare_shapes.png`` (the RGB shapes model) into ``out``; the same figures as
    ``convfx compare -o compare.png``, ``convfx compare --evolution -o evolution.png``,
    ``convfx compare digits -o compare_digits.png`` and ``convfx compare shapes -o
    compare_shapes.png``, for ``image`` (default :func:`default_photo`).
    """
    out = Path(out)
    default = compare.compare_model(models.DEFAULT_MODEL)
    digits, shapes = compare.compare_model("digits"), compare.compare_model("shapes")
    return [
        save_figure(compare_figure(default, image), out / "compare.png", overwrite=True),
        save_figure(evolution_figure(default), out / "evolution.png", overwrite=True),
        save_figure(compare_figure(digits, image), out / "compare_digits.png", overwrite=True),
        save_figure(compare_figure(shapes, image), out / "compare_shapes.png", overwrite=True),
    ]


def write_network_figures(out: str | os.PathLike) -> list[Path]:
    """The README's pictures of the network.

    ``explain_conv.gif`` (``convfx explain conv --size 7 --kernel 3 --stride 2
    --padding 1``), ``explain_conv_3d.gif`` (``convfx explain conv --channels 3
    --filters 2 --size 5``), and for each shipped model found, ``network_<name>.png``
    (``convfx summary <name> --plot``); ``tour.png`` (``convfx tour``: the default
    model on its default held-out image) needs the default model.  A shipped model missing (a fresh checkout before the
    models are trained) is skipped, not an error.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [
        save_explanation(
            explain_steps.explain_conv(size=7, kernel=3, stride=2, padding=1), out / "explain_conv.gif", overwrite=True
        ),
        save_explanation(
            explain_steps.explain_volume(size=5, kernel=3, channels=3, filters=2), out / "explain_conv_3d.gif", overwrite=True
        ),
    ]
    for name in ("digits", "shapes"):
        model_path = models.shipped_model(name)
        if model_path.is_file():
            rows = nn_inspect.summarize(nn_inspect.load_model(model_path))
            title = f"{model_path.name}: LeNet-5 as a chain of volumes, input {rows[0].shape}"
            written.append(save_figure(network_figure(rows, title=title), out / f"network_{name}.png", overwrite=True))
    if models.shipped_model(models.DEFAULT_MODEL).is_file():
        written.append(save_tour(nn_inspect.tour_file(models.DEFAULT_MODEL), out / "tour.png", overwrite=True))
    return written


def main(argv: Sequence[str] | None = None) -> None:
    """``python tools/make_figures.py [--samples DIR] [--sample FILE] [--out DIR] [--groups G ...]``."""
    parser = argparse.ArgumentParser(prog="python tools/make_figures.py", description="Regenerate the README figures.")
    parser.add_argument("--samples", default=str(SAMPLES), help="the samples folder (default: the repository's samples/)")
    parser.add_argument("--sample", default="chelsea.jpg", help="photo used by the gallery (default: chelsea.jpg)")
    parser.add_argument("--out", default=None, help="output folder (default: SAMPLES/readme)")
    parser.add_argument(
        "--groups",
        nargs="+",
        default=list(README_FIGURE_GROUPS),
        choices=README_FIGURE_GROUPS,
        help="which figures (default: all)",
    )
    args = parser.parse_args(argv)
    for path in write_readme_figures(args.samples, sample=args.sample, out=args.out, groups=args.groups):
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
