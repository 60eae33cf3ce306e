"""Every figure convfx draws, one module per subject.

* :mod:`.figures`  -- the Agg canvas, colour rules, :func:`figure_bytes`, :func:`save_figure`;
* :mod:`.filters`  -- kernels as applied (:func:`kernel_figure`) and a photo through filters (:func:`gallery_figure`);
* :mod:`.edges`    -- every stage of Canny (:func:`canny_figure`, ``convfx explain canny``);
* :mod:`.learning` -- learned kernels beside classic ones, and their evolution in training (``convfx compare``);
* :mod:`.network`  -- one image through every layer (:func:`tour_figure`), the network as a chain
  of volumes (:func:`network_figure`, ``convfx summary --plot``) and the confusion matrix;
* :mod:`.explain`  -- a sliding window step by step (``convfx explain conv|pool``), in 3-D with
  ``--channels``/``--filters``;
* :mod:`.volumes`  -- volumes as sheets pulled apart along depth, kernel boxes, the axis key (``explain``, ``network``).

Figures are built on matplotlib's object API with the Agg canvas, so nothing here
needs a screen, touches pyplot's global state or changes the user's backend.
This package must not compute what it draws (it calls :func:`convfx.effects.apply`,
:func:`convfx.edges.canny_stages`, :mod:`convfx.compare` for learned kernels,
:mod:`convfx.nn.inspect` for feature maps, :mod:`convfx.explain` for
sliding-window steps) nor write files except through
:func:`convfx.imageio.write_bytes_atomically`.  The script that redraws the
README's figures is ``tools/make_figures.py``, outside the package.
"""

from __future__ import annotations

from .edges import canny_figure, save_canny_stages
from .explain import EXPLAIN_SUFFIXES, explain_frame_figure, explain_gif_bytes, explain_strip_figure, save_explanation
from .figures import DIVERGING, KERNEL_SCALES, PLOT_SUFFIXES, check_figure_path, check_kernel_scale, figure_bytes, save_figure
from .filters import GALLERY_EFFECTS, gallery_figure, kernel_figure, save_kernel_plot
from .learning import (
    compare_figure,
    default_photo,
    evolution_figure,
    evolution_frame_figure,
    evolution_gif_bytes,
    save_compare_figures,
)
from .network import confusion_matrix_figure, network_figure, save_network_figure, save_tour, tour_figure

__all__ = [
    "DIVERGING",
    "KERNEL_SCALES",
    "check_kernel_scale",
    "GALLERY_EFFECTS",
    "PLOT_SUFFIXES",
    "EXPLAIN_SUFFIXES",
    "figure_bytes",
    "save_figure",
    "check_figure_path",
    "kernel_figure",
    "gallery_figure",
    "save_kernel_plot",
    "canny_figure",
    "save_canny_stages",
    "default_photo",
    "compare_figure",
    "evolution_figure",
    "evolution_frame_figure",
    "evolution_gif_bytes",
    "save_compare_figures",
    "confusion_matrix_figure",
    "tour_figure",
    "save_tour",
    "network_figure",
    "save_network_figure",
    "explain_frame_figure",
    "explain_gif_bytes",
    "explain_strip_figure",
    "save_explanation",
]
