"""The figure of Canny's stages, for ``convfx explain canny``.

:func:`canny_figure` draws the :class:`convfx.edges.CannyStages` it is given;
:func:`save_canny_stages` reads an image, runs :func:`convfx.edges.canny_stages`
once and draws it.  This module must not detect edges itself nor write files
except through :func:`convfx.plots.save_figure`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, hsv_to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .. import edges, imageio, steps
from ..conv import BOUNDARIES
from ..errors import ParameterError
from .figures import DIVERGING, TEXT_POINTS, check_figure_path, image_panel, refuse_existing, save_figure, signed_norm

# The colour of weak pixels in stage 7.
_WEAK = (1.0, 0.55, 0.0)

__all__ = ["canny_figure", "save_canny_stages"]


def _direction_colours(direction: np.ndarray, brightness: np.ndarray) -> np.ndarray:
    """RGB ``(..., 3)``: the direction as hue (0 = right, red), ``brightness`` in 0..1 as value."""
    hue = (direction + np.pi) / (2 * np.pi)
    return hsv_to_rgb(np.stack([hue, np.ones_like(hue), np.clip(brightness, 0, 1)], axis=-1))


def _colour_wheel(ax: Axes, *, size: int = 101) -> None:
    """The key of the direction panel: a disc whose hue at each angle is that direction's colour."""
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]  # rows grow downwards, as in the image
    radius = np.hypot(x, y)
    wheel = _direction_colours(np.arctan2(y, x), np.ones_like(x))
    rgba = np.dstack([wheel, (radius <= 1).astype(float)])
    ax.imshow(rgba, extent=(-1, 1, 1, -1), interpolation="antialiased")
    for text, (tx, ty) in {"right": (1.05, 0), "down": (0, 1.05), "left": (-1.05, 0), "up": (0, -1.05)}.items():
        ax.text(
            tx,
            ty,
            text,
            ha="left" if tx > 0 else "right" if tx < 0 else "center",
            va="top" if ty > 0 else "bottom" if ty < 0 else "center",
            fontsize=TEXT_POINTS,
        )
    ax.set_xlim(-2.3, 2.3)
    ax.set_ylim(2.6, -2.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.text(0, -1.5, "colour: the way\nit gets brighter", ha="center", va="bottom", fontsize=TEXT_POINTS)


def canny_figure(stages: edges.CannyStages, image: np.ndarray) -> Figure:
    """Every stage of one Canny run on an image, as a 3 x 3 grid with colour keys.

    Parameters
    ----------
    stages : convfx.edges.CannyStages
        From :func:`convfx.edges.canny_stages` on ``image``; its settings (sigma,
        mode, thresholds, full scale) title the figure.
    image : ndarray, shape (H, W) or (H, W, 3)
        The photo the stages were computed from (any dtype; shown divided by
        ``stages.full_scale``).

    Returns
    -------
    matplotlib.figure.Figure
        The input, then the stages numbered 1 to 8: smoothed; ``gx`` and ``gy``
        (red positive, blue negative, one scale and colour bar); magnitude (with
        its colour bar); direction as hue (with a colour wheel) and magnitude as
        brightness; the magnitude after non-maximum suppression; strong (white)
        and weak (orange) pixels; the final edges.  3 inches per panel across,
        :data:`~convfx.plots.figures.SAVE_DPI` when saved with :func:`save_figure`.
    """
    image = np.asarray(image)
    if image.shape[:2] != stages.edges.shape:
        raise ParameterError(
            f"image: expected the {stages.edges.shape} image the stages were computed from, found {image.shape[:2]}"
        )
    height, width = image.shape[:2]
    panel, key = 3.0, 1.1
    figure = Figure(figsize=(3 * (panel + key), 3 * (panel * height / width + 0.45) + 0.5), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(3, 6, width_ratios=[panel, key] * 3)
    axes = [figure.add_subplot(grid[i // 3, 2 * (i % 3)]) for i in range(9)]
    keys = [figure.add_subplot(grid[i // 3, 2 * (i % 3) + 1]) for i in range(9)]
    for ax in keys:
        ax.set_axis_off()

    def colour_bar(index: int, norm: Normalize, cmap: str, label: str) -> None:
        # A bar in the middle of the panel's key column, the label beside it.
        bar = figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=keys[index].inset_axes((0.05, 0.08, 0.16, 0.84)))
        bar.set_label(label, fontsize=TEXT_POINTS + 0.5)
        bar.ax.tick_params(labelsize=TEXT_POINTS)

    image_panel(axes[0], np.clip(image / stages.full_scale, 0, 1), "input", vmin=0, vmax=1)
    smoothed = f"Gaussian, sigma = {stages.sigma:g}" if stages.sigma > 0 else "sigma = 0: not smoothed"
    image_panel(axes[1], np.clip(stages.smoothed, 0, 1), f"1. smoothed ({smoothed})", vmin=0, vmax=1)
    colour_bar(1, Normalize(0, 1), "gray", "brightness\n(fraction of white)")
    # One colour scale for both derivatives, so their strengths compare; a high
    # percentile rather than the maximum, so that one hard edge does not grey out the rest.
    limit = float(np.percentile(np.abs(np.concatenate([stages.gx.ravel(), stages.gy.ravel()])), 99.5)) or 1.0
    norm = signed_norm(limit)
    image_panel(axes[2], stages.gx, "2. gx = sobel_x\n(red: brighter to the right)", cmap=DIVERGING, norm=norm)
    colour_bar(2, norm, DIVERGING, "gx: red positive,\nblue negative, white 0")
    image_panel(axes[3], stages.gy, "3. gy = sobel_y\n(red: brighter below)", cmap=DIVERGING, norm=norm)
    colour_bar(3, norm, DIVERGING, "gy: red positive,\nblue negative, white 0")
    top = float(np.percentile(stages.magnitude, 99.5)) or 1.0
    image_panel(axes[4], stages.magnitude, "4. magnitude\nsqrt(gx^2 + gy^2)", vmin=0, vmax=top)
    colour_bar(4, Normalize(0, top), "gray", "magnitude\n(white: strong edge)")
    image_panel(
        axes[5],
        _direction_colours(stages.direction, stages.magnitude / top),
        "5. direction (colour)\nand magnitude (brightness)",
    )
    _colour_wheel(keys[5])
    image_panel(axes[6], stages.suppressed, "6. thinned: only the peak\nacross each edge kept", vmin=0, vmax=top)
    colour_bar(6, Normalize(0, top), "gray", "magnitude\n(white: strong edge)")
    levels = np.zeros(stages.strong.shape + (3,), dtype=np.float32)
    levels[stages.weak] = _WEAK
    levels[stages.strong] = (1.0, 1.0, 1.0)
    image_panel(axes[7], levels, "7. strong and weak pixels\n(two thresholds)")
    keys[7].legend(
        handles=[
            Patch(facecolor="white", edgecolor="grey", label=f"strong:\n>= {stages.high:.3g}"),
            Patch(facecolor=_WEAK, label=f"weak:\n>= {stages.low:.3g}"),
        ],
        loc="center left",
        fontsize=TEXT_POINTS,
        frameon=False,
    )
    image_panel(axes[8], stages.edges, "8. edges: strong pixels and\nthe weak ones joined to them", vmin=0, vmax=1)
    keys[8].legend(
        handles=[Patch(facecolor="white", edgecolor="grey", label=f"edge\n({int(stages.edges.sum())}\npixels)")],
        loc="center left",
        fontsize=TEXT_POINTS,
        frameon=False,
    )
    if stages.quantiles is not None:
        q_low, q_high = stages.quantiles
        thresholds = (
            f"thresholds from quantiles of the magnitude: low {q_low:g} -> {stages.low:.3g}, high {q_high:g} -> {stages.high:.3g}"
        )
    else:
        thresholds = f"thresholds low = {stages.low:g}, high = {stages.high:g} (fractions of full scale)"
    mode = "on the luminance" if stages.mode == "luminance" else "on the strongest colour channel at each pixel"
    figure.suptitle(
        f"Canny edge detection, step by step ({mode}): sigma = {stages.sigma:g}, {thresholds}", fontsize=TEXT_POINTS + 4
    )
    return figure


def save_canny_stages(
    source: str | os.PathLike,
    destination: str | os.PathLike | None = None,
    *,
    sigma: float = 1.0,
    low: float | None = None,
    high: float | None = None,
    quantile: bool = False,
    mode: str = "luminance",
    boundary: str = "reflect",
    overwrite: bool = False,
    max_pixels: int = imageio.DEFAULT_MAX_PIXELS,
) -> Path:
    """Read an image and draw :func:`canny_figure` of it to ``destination`` (``convfx explain canny``).

    Parameters
    ----------
    source : path-like
        The image (see :func:`convfx.imageio.read_image`).
    destination : path-like, optional
        ``.png``, ``.svg`` or ``.pdf``; default ``<stem>_canny_stages.png`` next to ``source``.
    sigma, low, high, quantile, mode, boundary
        See :func:`convfx.canny`; checked before the image is decoded.
    overwrite : bool, optional
        Replace an existing ``destination``.
    max_pixels : int, optional
        Decompression-bomb guard.

    Returns
    -------
    Path
        ``destination``.
    """
    detector = steps.get_detector("canny").with_parameters(
        {"sigma": sigma, "low": low, "high": high, "quantile": quantile, "mode": mode}
    )
    if boundary not in BOUNDARIES:
        raise ParameterError(f"boundary: invalid value {boundary!r}; expected one of {list(BOUNDARIES)}")
    source = imageio.check_source(source)
    destination = check_figure_path(
        source.with_name(f"{source.stem}_canny_stages.png") if destination is None else destination, name="output"
    )
    refuse_existing(destination, overwrite=overwrite)
    picture = imageio.read_image(source, max_pixels=max_pixels)
    stages = edges.canny_stages(picture.pixels, boundary=boundary, **detector.settings)
    return save_figure(canny_figure(stages, picture.pixels), destination, overwrite=overwrite)
