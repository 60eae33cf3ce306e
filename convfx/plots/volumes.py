"""Volumes drawn as sheets of cells pulled apart along depth, and the boxes that read them.

The 3-D pictures of a convolutional layer (``convfx explain conv --channels``)
and of a whole network (``convfx summary --plot``) share one convention, drawn on
an ordinary matplotlib ``Axes`` without mplot3d: width runs to the right, height
up, and depth (the channels) diagonally up and to the right, behind.  The network
figure stacks its maps close together; the layer's figure is an exploded view of
the same volume: a sheet of ``H x W`` cells is an upright grid (:class:`Oblique`),
and the channels are pulled apart along the depth diagonal (:func:`depth_origins`)
until no sheet hides another's numbers.  A ``k x k x C`` box is the window's
outline on every sheet joined by its four depth edges.  Numbers stay upright and
readable in every cell, which a perspective 3-D axis would not allow.

Every drawn sheet carries a ``gid`` (``"input-plane-0"`` ...), so that tests and
SVG readers can find what was drawn.  This module must not compute what it draws
nor save figures (:mod:`convfx.plots.explain` and :mod:`convfx.plots.network` do).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.patches import FancyArrowPatch, Polygon
from matplotlib.patheffects import withStroke

__all__ = [
    "DEPTH_SLANT",
    "KERNEL_BOX_COLOUR",
    "KERNEL_BOX_WORDS",
    "POOL_WINDOW_COLOUR",
    "Oblique",
    "depth_origins",
    "draw_sheet",
    "draw_outline",
    "draw_box",
    "draw_volume_edges",
    "draw_axes_key",
]

#: Rightward shift of a sheet per unit it is drawn higher, one step further back in depth:
#: depth runs up and to the right at 45 degrees, the direction in which the network
#: figure (:func:`convfx.plots.network.network_figure`) steps its maps.
DEPTH_SLANT = 1.0
#: The kernel box, and the output cell it fills, in every drawing of volumes: green, apart from the red/blue of values.
KERNEL_BOX_COLOUR = "#1a9850"
#: The pooling window, and the output cell it fills: purple.
POOL_WINDOW_COLOUR = "#6a3d9a"
#: The kernel box in the legends of every drawing of volumes.
KERNEL_BOX_WORDS = "kernel box: k x k x input depth"

# Drawing order of the numbers in the cells: above the boxes, frames and arrows that
# cross them (sheets do not overlap one another on the page, so no sheet hides another's numbers).
_NUMBER_ZORDER = 6.0


@dataclass(frozen=True)
class Oblique:
    """Where the cells of a sheet land on the page.

    A sheet of ``rows x columns`` cells with its bottom-left corner at ``origin``:
    column ``x`` runs to the right, one unit per cell; row ``y`` runs from the top
    (row 0, drawn highest) down to the last row, on the ``origin`` line, each row
    ``squash`` units high and ``shear`` units further left than the row above it.
    The defaults draw an upright grid of square cells, as an image is shown.

    Attributes
    ----------
    shear : float
        Rightward shift of each row above the last.
    squash : float
        Height on the page of one row, per cell width.
    unit : float
        Page units per cell width (smaller for thumbnails).
    """

    shear: float = 0.0
    squash: float = 1.0
    unit: float = 1.0

    def point(self, origin: tuple[float, float], rows: int, y: float, x: float) -> tuple[float, float]:
        """The page point of sheet coordinates ``(y, x)`` (rows from the back, columns), corners at integers.

        Parameters
        ----------
        origin : tuple of float
            The sheet's bottom-left corner on the page.
        rows : int
            The sheet's number of rows.
        y, x : float
            Sheet coordinates.

        Returns
        -------
        tuple of float
            The page point ``(px, py)``.
        """
        above = rows - y  # distance from the bottom edge, in rows
        return origin[0] + self.unit * (x + self.shear * above), origin[1] + self.unit * self.squash * above

    def cell(self, origin: tuple[float, float], rows: int, y: int, x: int) -> np.ndarray:
        """The four page corners of cell ``(y, x)``.

        Parameters
        ----------
        origin : tuple of float
            The sheet's bottom-left corner on the page.
        rows : int
            The sheet's number of rows.
        y, x : int
            The cell's row and column.

        Returns
        -------
        ndarray, shape (4, 2)
        """
        return np.array([self.point(origin, rows, y + dy, x + dx) for dy, dx in ((1, 0), (1, 1), (0, 1), (0, 0))])

    def width(self, rows: int, columns: int) -> float:
        """Page width of a ``rows x columns`` sheet.

        Parameters
        ----------
        rows, columns : int

        Returns
        -------
        float
        """
        return self.unit * (columns + self.shear * rows)

    def height(self, rows: int) -> float:
        """Page height of a sheet of ``rows`` rows.

        Parameters
        ----------
        rows : int

        Returns
        -------
        float
        """
        return self.unit * self.squash * rows


def depth_origins(
    left: float, bottom: float, count: int, pitch: float, *, slant: float = DEPTH_SLANT
) -> list[tuple[float, float]]:
    """The bottom-left corners of ``count`` sheets pulled apart along depth, front to back.

    Sheet 0 (the front one, the first channel) has its corner at ``(left, bottom)``;
    each sheet further back is ``pitch`` higher and ``slant * pitch`` further right.

    Parameters
    ----------
    left, bottom : float
        The front sheet's bottom-left corner.
    count : int
    pitch : float
        Vertical step between two sheets: more than a sheet's height, so none hides another.
    slant : float, optional

    Returns
    -------
    list of tuple of float
    """
    return [(left + d * slant * pitch, bottom + d * pitch) for d in range(count)]


def draw_sheet(
    ax: Axes,
    projection: Oblique,
    origin: tuple[float, float],
    colours: np.ndarray,
    *,
    texts: np.ndarray | None = None,
    text_colours: np.ndarray | None = None,
    fontsize: float = 8.0,
    edge: str = "#555555",
    gid: str | None = None,
    zorder: float = 1.0,
) -> PolyCollection:
    """One sheet: ``H x W`` filled cells with white borders, a frame, and optional numbers.

    Parameters
    ----------
    ax : Axes
    projection : Oblique
    origin : (float, float)
        Page point of the sheet's bottom-left corner.
    colours : ndarray, shape (H, W, 4)
        RGBA of every cell.
    texts : ndarray of str, shape (H, W), optional
        Written in the cells ("" for none), above any box or arrow drawn
        over the sheet, with a halo of the cell's colour.
    text_colours : ndarray of str, shape (H, W), optional
        Colour of each text; black by default.
    fontsize : float, optional
    edge : str, optional
        Colour of the sheet's frame.
    gid : str, optional
        Set on the cells' collection (tests and SVG find the sheet by it).
    zorder : float, optional
        Of the cells and the frame.

    Returns
    -------
    matplotlib.collections.PolyCollection
        The cells.
    """
    rows, columns = colours.shape[:2]
    polygons = [projection.cell(origin, rows, y, x) for y in range(rows) for x in range(columns)]
    cells = PolyCollection(polygons, facecolors=colours.reshape(-1, 4), edgecolors="white", linewidths=0.8, zorder=zorder)
    if gid is not None:
        cells.set_gid(gid)
    ax.add_collection(cells)
    draw_outline(ax, projection, origin, rows, (0, 0, rows, columns), colour=edge, linewidth=1.0, zorder=zorder + 0.1)
    if texts is not None:
        for (y, x), text in np.ndenumerate(texts):
            if not text:
                continue
            u, v = projection.cell(origin, rows, y, x).mean(axis=0)
            colour = "black" if text_colours is None else text_colours[y, x]
            # Above every box and arrow, ringed in the cell's own colour: a line crossing the cell stops short of the digits.
            halo = withStroke(linewidth=2.5, foreground=tuple(colours[y, x]))
            ax.text(
                u, v, text, ha="center", va="center", fontsize=fontsize, color=colour, zorder=_NUMBER_ZORDER, path_effects=[halo]
            )
    return cells


def draw_outline(
    ax: Axes,
    projection: Oblique,
    origin: tuple[float, float],
    rows: int,
    rectangle: tuple[int, int, int, int],
    *,
    colour: str,
    linewidth: float = 2.5,
    fill: str | None = None,
    gid: str | None = None,
    zorder: float = 3.0,
) -> Polygon:
    """The outline of ``rectangle = (top, left, height, width)`` cells on a sheet of ``rows`` rows.

    Parameters
    ----------
    ax : Axes
    projection : Oblique
    origin : tuple of float
        The sheet's bottom-left corner.
    rows : int
    rectangle : tuple of int
        ``(top, left, height, width)`` in cells.
    colour : str
    linewidth : float, optional
    fill : str, optional
    gid : str, optional
    zorder : float, optional

    Returns
    -------
    matplotlib.patches.Polygon
    """
    top, left, height, width = rectangle
    corners = [
        projection.point(origin, rows, top + height, left),
        projection.point(origin, rows, top + height, left + width),
        projection.point(origin, rows, top, left + width),
        projection.point(origin, rows, top, left),
    ]
    patch = Polygon(
        corners,
        closed=True,
        fill=fill is not None,
        facecolor=fill or "none",
        edgecolor=colour,
        linewidth=linewidth,
        zorder=zorder,
    )
    if gid is not None:
        patch.set_gid(gid)
    ax.add_patch(patch)
    return patch


def draw_box(
    ax: Axes,
    projection: Oblique,
    origins: Sequence[tuple[float, float]],
    rows: int,
    rectangle: tuple[int, int, int, int],
    *,
    colour: str,
    linewidth: float = 2.5,
    gid: str = "kernel-box",
) -> None:
    """A box through a stack of sheets: ``rectangle`` outlined on every sheet, its four corners joined.

    ``origins`` are the sheets' bottom-left corners from the front sheet to the back
    one, each ``rows`` rows high; every drawn part carries ``gid``.

    Parameters
    ----------
    ax : Axes
    projection : Oblique
    origins : sequence of tuple of float
    rows : int
    rectangle : tuple of int
        ``(top, left, height, width)`` in cells.
    colour : str
    linewidth : float, optional
    gid : str, optional
    """
    for origin in origins:
        draw_outline(ax, projection, origin, rows, rectangle, colour=colour, linewidth=linewidth, gid=gid, zorder=3.0)
    if len(origins) < 2:
        return
    top, left, height, width = rectangle
    for y, x in ((top + height, left), (top + height, left + width), (top, left + width), (top, left)):
        (u0, v0), (u1, v1) = (projection.point(origins[0], rows, y, x), projection.point(origins[-1], rows, y, x))
        (line,) = ax.plot([u0, u1], [v0, v1], color=colour, linewidth=linewidth * 0.7, zorder=2.9)
        line.set_gid(gid)


def draw_volume_edges(
    ax: Axes,
    projection: Oblique,
    origins: Sequence[tuple[float, float]],
    rows: int,
    columns: int,
    *,
    colour: str = "#888888",
) -> None:
    """Dashed lines joining the corners of the front and back sheets: the stack reads as one volume.

    Parameters
    ----------
    ax : Axes
    projection : Oblique
    origins : sequence of tuple of float
        The sheets' bottom-left corners, front to back.
    rows, columns : int
    colour : str, optional
    """
    if len(origins) < 2:
        return
    for y, x in ((rows, 0), (rows, columns), (0, columns), (0, 0)):
        (u0, v0), (u1, v1) = (projection.point(origins[0], rows, y, x), projection.point(origins[-1], rows, y, x))
        ax.plot([u0, u1], [v0, v1], color=colour, linewidth=0.9, linestyle=(0, (3, 3)), zorder=0.5)


def draw_axes_key(
    ax: Axes,
    origin: tuple[float, float],
    *,
    length: float = 2.2,
    slant: float = DEPTH_SLANT,
    fontsize: float = 8.0,
) -> None:
    """Three arrows from ``origin`` naming the directions: width (right), height (up), depth (up and right).

    The same key, in the same words, in every drawing of volumes.

    Parameters
    ----------
    ax : Axes
    origin : tuple of float
        Where the arrows start, in data units.
    length : float, optional
        The width and height arrows' length, in data units.
    slant : float, optional
        The depth arrow's rightward run per unit of rise, as the sheets are pulled apart.
    fontsize : float, optional
    """
    rise = length * 0.75 / math.hypot(1.0, slant)
    ends = {
        "width": ((origin[0] + length, origin[1]), "left", "center"),
        "height (rows)": ((origin[0], origin[1] + length), "left", "bottom"),
        "depth (channels)": ((origin[0] + slant * rise, origin[1] + rise), "left", "bottom"),
    }
    gap = 0.06 * length
    for label, (end, horizontal, vertical) in ends.items():
        ax.add_patch(FancyArrowPatch(origin, end, arrowstyle="-|>", mutation_scale=10, color="#333333", linewidth=1.2, zorder=4))
        # Every label right of where the arrows start, so that the key takes no room left of it.
        x = end[0] + (gap if end[0] > origin[0] else -2 * gap)
        y = end[1] + (gap if vertical == "bottom" else 0.0)
        ax.text(x, y, label, ha=horizontal, va=vertical, fontsize=fontsize)
