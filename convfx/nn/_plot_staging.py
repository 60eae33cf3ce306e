"""Figures of the learning half, waiting to move into :mod:`convfx.plots`.

The project keeps every matplotlib figure in ``convfx/plots.py``; this file only
exists so that the confusion-matrix figure could be written while ``plots.py`` was
being edited by someone else.  Move :func:`confusion_matrix_figure` there as it is
(it uses matplotlib's object API, no pyplot) and delete this module.  It draws; it
does not compute or write files (save with :func:`convfx.plots.save_figure`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["confusion_matrix_figure"]


def confusion_matrix_figure(
    confusion: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str | None = None,
) -> Figure:
    """Draw a confusion matrix: true classes on rows, predictions on columns.

    Parameters
    ----------
    confusion : ndarray, shape (K, K)
        Counts, ``confusion[true, predicted]``.
    class_names : sequence of K str
    title : str, optional
        Default: the overall accuracy.

    Returns
    -------
    matplotlib.figure.Figure
        Cells shaded by the fraction of their row (so small classes show as clearly
        as large ones), each labelled with its count; the diagonal is correct.
    """
    confusion = np.asarray(confusion)
    k = confusion.shape[0]
    totals = confusion.sum(axis=1, keepdims=True)
    fractions = confusion / np.maximum(totals, 1)
    size = min(12.0, 2.0 + 0.5 * k)
    figure = Figure(figsize=(size + 1.2, size), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    long_names = max(map(len, class_names)) > 2
    ax.set_xticks(range(k), labels=list(class_names), rotation=45 if long_names else 0, ha="right" if long_names else "center")
    ax.set_yticks(range(k), labels=list(class_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:
        for row in range(k):
            for column in range(k):
                count = int(confusion[row, column])
                if count:
                    color = "white" if fractions[row, column] > 0.5 else "black"
                    ax.text(column, row, str(count), ha="center", va="center", color=color, fontsize=8)
    accuracy = np.trace(confusion) / max(int(confusion.sum()), 1)
    ax.set_title(title or f"accuracy {accuracy:.2%} ({int(np.trace(confusion))}/{int(confusion.sum())})")
    figure.colorbar(image, ax=ax, label="fraction of the true class", shrink=0.8)
    return figure
