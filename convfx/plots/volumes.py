"""Volumes drawn in an oblique projection: stacks of sheets of cells, and the boxes that read them.

The 3-D pictures of a convolutional layer (``convfx explain conv --channels``)
and of a whole network (``convfx summary --plot``) are drawn on an ordinary
matplotlib ``Axes`` in data units of one cell, without mplot3d: a sheet of
``H x W`` cells is a parallelogram whose rows recede up and to the right
(:class:`Oblique`), the channels of a volume are sheets stacked one under the
other, and a ``k x k x C`` box is the window's outline on every sheet joined by
its four vertical edges.  Numbers stay upright and readable in every cell, which a
perspective 3-D axis would not allow.

Every drawn sheet carries a ``gid`` (``"input-plane-0"`` ...), so that tests and
SVG readers can find what was drawn.  This module must not compute what it draws
nor save figures (:mod:`convfx.plots.explain` and :mod:`convfx.plots.network` do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.patches import FancyArrowPatch, Polygon
from matplotlib.patheffects import withStroke

__all__ = ["Oblique", "draw_sheet", "draw_outline", "draw_box", "draw_volume_edges", "draw_axes_key"]

# Drawing order of the numbers in the cells: above the boxes, frames and arrows that
# cross them (sheets do not overlap one another on the page, so no sheet hides another's numbers).
_NUMBER_ZORDER = 6.0


@dataclass(frozen=True)
class Oblique:
    """Where the cells of a sheet land on the page.

    A sheet of ``rows x columns`` cells with its front-left corner at ``origin``:
    column ``x`` runs to the right, one unit per cell; row ``y`` runs from the back
    (row 0, drawn highest) to the front (the last row, on the ``origin`` line), each
    row ``squash`` units high and ``shear`` units further left than the row behind it.

    Attributes
    ----------
    shear : float
        Rightward shift of each row further back.
    squash : float
        Height on the page of one row.
    unit : float
        Page units per cell width (smaller for thumbnails).
    """

    shear: float = 0.45
    squash: float = 0.55
    unit: float = 1.0

    def point(self, origin: tuple[float, float], rows: int, y: float, x: float) -> tuple[float, float]:
        """The page point of sheet coordinates ``(y, x)`` (rows from the back, columns), corners at integers.

        Parameters
        ----------
        origin : tuple of float
            The sheet's front-left corner on the page.
        rows : int
            The sheet's number of rows.
        y, x : float
            Sheet coordinates.

        Returns
        -------
        tuple of float
            The page point ``(px, py)``.
        """
        depth = rows - y  # distance from the front edge, in rows
        return origin[0] + self.unit * (x + self.shear * depth), origin[1] + self.unit * self.squash * depth

    def cell(self, origin: tuple[float, float], rows: int, y: int, x: int) -> np.ndarray:
        """The four page corners of cell ``(y, x)``.

        Parameters
        ----------
        origin : tuple of float
            The sheet's front-left corner on the page.
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
        Page point of the sheet's front-left corner.
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
        The sheet's front-left corner.
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

    ``origins`` are the sheets' front-left corners from the top sheet to the bottom
    one, each ``rows`` rows deep; every drawn part carries ``gid``.

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
    """Dashed lines joining the corners of the top and bottom sheets: the stack reads as one volume.

    Parameters
    ----------
    ax : Axes
    projection : Oblique
    origins : sequence of tuple of float
        The sheets' front-left corners, top to bottom.
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
    projection: Oblique,
    origin: tuple[float, float],
    *,
    length: float = 2.2,
    depth_label: str = "depth",
    fontsize: float = 8.0,
) -> None:
    """Three arrows from ``origin`` naming the directions: width (right), height (rows), ``depth_label`` (down).

    Parameters
    ----------
    ax : Axes
    projection : Oblique
    origin : tuple of float
    length : float, optional
        The arrows' length, in cells.
    depth_label : str, optional
    fontsize : float, optional
    """
    rows = 1
    start = projection.point(origin, rows, rows, 0)
    ends = {
        "width": projection.point(origin, rows, rows, length),
        "height": projection.point(origin, rows, rows - length, 0),
        depth_label: (start[0], start[1] - length * 0.8),
    }
    for label, end in ends.items():
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, color="#333333", linewidth=1.2, zorder=4))
        if label == "width":
            ax.text(end[0] + 0.15, end[1], label, ha="left", va="center", fontsize=fontsize)
        elif label == "height":
            ax.text(end[0] + 0.15, end[1], f"{label} (rows)", ha="left", va="bottom", fontsize=fontsize)
        else:
            ax.text(end[0] + 0.15, end[1], label, ha="left", va="center", fontsize=fontsize)
