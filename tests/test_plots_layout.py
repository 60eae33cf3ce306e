"""The layout of every figure ``tools/make_figures.py`` draws: no two texts overlap, and none is cut.

A reader cannot read a title printed over another, nor a class name cut at the
figure's edge.  Each figure is drawn as ``tools/make_figures.py`` draws it (the
same functions, models and options; a smaller photo and fewer random draws where
that changes no text's place), then every text the renderer actually drew is
measured in pixels: titles, tick labels, colour-bar labels, legends, row labels.
The GIFs are checked on their first and last frames.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from conftest import SAMPLES
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from test_tools import load_tool

from convfx import compare, edges, explain, imageio, models
from convfx.nn import inspect as nn_inspect
from convfx.plots import (
    canny_figure,
    compare_figure,
    evolution_figure,
    explain_frame_figure,
    gallery_figure,
    kernel_figure,
    network_figure,
    tour_figure,
)
from convfx.plots.explain import volume_frame_figure

#: Pixels two boxes may share, or a box may pass the figure's edge, before it counts:
#: the boxes of text include the font's ascent and descent, which touch between lines.
SLACK = 1.0


def drawn_texts(figure: Figure) -> list[Text]:
    """The texts that one draw of ``figure`` renders (not the tick labels of a hidden axis), each once."""
    renderer = figure.canvas.get_renderer()
    seen: dict[int, Text] = {}
    draw_text = renderer.draw_text

    def record(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if mtext is not None and s.strip():
            seen.setdefault(id(mtext), mtext)
        return draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = record
    try:
        figure.draw(renderer)
    finally:
        del renderer.draw_text
    return list(seen.values())


def _shared(a: Bbox, b: Bbox) -> tuple[float, float]:
    """Width and height of the overlap of two boxes (negative when apart)."""
    return min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0)


def layout_faults(figure: Figure) -> list[str]:
    """Every text that passes the figure's edge, and every pair of texts that overlap, in words."""
    texts = drawn_texts(figure)
    renderer = figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in texts]
    frame = figure.bbox
    faults = []
    for text, box in zip(texts, boxes):
        if box.x0 < frame.x0 - SLACK or box.y0 < frame.y0 - SLACK or box.x1 > frame.x1 + SLACK or box.y1 > frame.y1 + SLACK:
            faults.append(
                f"cut: {text.get_text()!r} at {np.round(box.extents).tolist()} in a {frame.width:.0f}x{frame.height:.0f} figure"
            )
    for (a, box_a), (b, box_b) in itertools.combinations(zip(texts, boxes), 2):
        width, height = _shared(box_a, box_b)
        if width > SLACK and height > SLACK:
            faults.append(f"overlap: {a.get_text()!r} and {b.get_text()!r} share {width:.0f}x{height:.0f} px")
    return faults


# --------------------------------------------------------------------------- the checker itself


def _figure_with(*places: tuple[str, float, float]) -> Figure:
    figure = Figure(figsize=(4, 3))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    for text, x, y in places:
        figure.text(x, y, text, fontsize=12)
    return figure


def test_the_checker_finds_overlaps_and_cut_texts_and_passes_a_clean_figure():
    assert layout_faults(_figure_with(("left", 0.1, 0.5), ("right", 0.6, 0.5))) == []
    overlapping = layout_faults(_figure_with(("a long title", 0.1, 0.5), ("another", 0.15, 0.51)))
    assert overlapping == [overlapping[0]] and overlapping[0].startswith("overlap: 'a long title' and 'another'")
    cut = layout_faults(_figure_with(("runs off the edge", 0.8, 0.5)))
    assert len(cut) == 1 and cut[0].startswith("cut: 'runs off the edge'")


def test_the_checker_ignores_what_is_not_drawn():
    figure = _figure_with(("shown", 0.1, 0.5))
    hidden = figure.text(0.1, 0.5, "hidden", fontsize=12)
    hidden.set_visible(False)
    ax = figure.add_axes((0.5, 0.1, 0.4, 0.4))
    ax.set_axis_off()  # its tick labels exist but are not drawn
    assert [t.get_text() for t in drawn_texts(figure)] == ["shown"]
    assert layout_faults(figure) == []


# --------------------------------------------------------------------------- the README's figures


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """The gallery's photo at a quarter of its size: the figures' layout follows its shape, not its pixels."""
    return imageio.read_image(SAMPLES / "chelsea.jpg").pixels[::4, ::4]


def _network(name: str) -> Figure:
    # The title tools/make_figures.py gives it.
    model_path = models.shipped_model(name)
    rows = nn_inspect.summarize(nn_inspect.load_model(model_path))
    return network_figure(rows, title=f"{model_path.name}: LeNet-5 as a chain of volumes, input {rows[0].shape}")


def _frames(explanation) -> list[Figure]:
    draw = volume_frame_figure if isinstance(explanation, explain.VolumeExplanation) else explain_frame_figure
    return [draw(explanation, index) for index in (0, len(explanation.steps) - 1)]


FIGURES: dict[str, Callable[[np.ndarray], list[Figure]]] = {
    "gallery.png": lambda photo: [gallery_figure(photo)],
    "kernels.png": lambda photo: [
        kernel_figure(",".join(load_tool("make_figures").README_KERNELS), title="Kernels as applied to the pixels (correlation)")
    ],
    "canny_stages.png": lambda photo: [canny_figure(edges.canny_stages(photo, sigma=2.0), photo)],
    "explain_conv.gif": lambda photo: _frames(explain.explain_conv(size=7, kernel=3, stride=2, padding=1)),
    "explain_conv_3d.gif": lambda photo: _frames(explain.explain_volume(size=5, kernel=3, channels=3, filters=2)),
    "network_digits.png": lambda photo: [_network("digits")],
    "network_shapes.png": lambda photo: [_network("shapes")],
    "tour.png": lambda photo: [tour_figure(nn_inspect.tour_file(models.DEFAULT_MODEL))],
    "compare.png": lambda photo: [compare_figure(compare.compare_model(models.DEFAULT_MODEL, draws=20), photo)],
    "evolution.png": lambda photo: [evolution_figure(compare.compare_model(models.DEFAULT_MODEL, draws=20))],
    "compare_digits.png": lambda photo: [compare_figure(compare.compare_model("digits", draws=20), photo)],
    "compare_shapes.png": lambda photo: [compare_figure(compare.compare_model("shapes", draws=20), photo)],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FIGURES))
def test_readme_figures_have_no_overlapping_or_cut_text(name, photo):
    for figure in FIGURES[name](photo):
        assert layout_faults(figure) == []


def test_every_readme_figure_is_checked():
    """The list above names every file in ``samples/readme/`` that make_figures writes (the screenshot is the studio's)."""
    written = {path.name for path in (SAMPLES / "readme").iterdir()} - {"studio.png"}
    assert written == set(FIGURES)


@pytest.mark.slow
def test_a_tour_of_ten_short_class_names_writes_them_across():
    """The digits model's classes fit under their cells, so its tour writes them across (the other branch of the layout)."""
    figure = tour_figure(nn_inspect.tour_file("digits"))
    assert layout_faults(figure) == []
    rotated = [t for t in drawn_texts(figure) if t.get_text() in {str(d) for d in range(10)} and t.get_rotation() != 0]
    assert rotated == []
