"""convfx.plots: every figure explains itself.

What is checked is what a reader needs, not pixels: a colour bar or legend saying
what the colours mean, kernels of one figure on one symmetric scale, titles in
plain words, text at least :data:`~convfx.plots.figures.MIN_TEXT_PIXELS` pixels
high when saved, the Canny stages numbered once each, and the 3-D drawings' sheets,
boxes and labels following the explanation and the model they draw.  The numbers
a figure writes are checked against :mod:`convfx.reference` or the library
results it was given, never against another call of the same drawing code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import Collection
from matplotlib.patches import FancyArrowPatch, Polygon, Rectangle
from matplotlib.text import Text

from convfx import compare, edges, explain, imageio, models, reference
from convfx.errors import ParameterError
from convfx.nn import LeNet
from convfx.nn import inspect as nn_inspect
from convfx.plots import (
    canny_figure,
    compare_figure,
    evolution_figure,
    evolution_frame_figure,
    explain_frame_figure,
    explain_strip_figure,
    kernel_figure,
    network_figure,
    tour_figure,
)
from convfx.plots import explain as explain_plots
from convfx.plots.figures import MIN_TEXT_PIXELS, SAVE_DPI, kernel_limits, save_figure
from convfx.plots.learning import plain_transform

SAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "samples"


# --------------------------------------------------------------------------- what a figure holds


def drawn(figure):
    """``figure`` drawn once (tick labels exist only then); drawing a large figure takes seconds."""
    if not getattr(figure, "_drawn_for_tests", False):
        figure.canvas.draw()
        figure._drawn_for_tests = True
    return figure


def texts(figure) -> list[str]:
    """Every visible, non-empty text of a drawn figure: titles, labels, ticks, legends, cells."""
    drawn(figure)
    return [t.get_text() for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]


def too_small(figure, dpi: int = SAVE_DPI) -> list[tuple[str, float]]:
    """Texts under MIN_TEXT_PIXELS pixels high at ``dpi``, with their size in pixels."""
    drawn(figure)
    small = []
    for text in figure.findobj(Text):
        if text.get_visible() and text.get_text().strip():
            pixels = text.get_fontsize() * dpi / 72
            if pixels < MIN_TEXT_PIXELS:
                small.append((text.get_text(), pixels))
    return small


def colour_bars(figure) -> list:
    """The colour bars' axes (matplotlib gives each the ``Colorbar`` drawn in it, placed by it or given)."""
    every = figure.findobj(lambda artist: isinstance(artist, Axes))  # insets too, not only figure.axes
    return [ax for ax in every if getattr(ax, "_colorbar", None) is not None]


def bar_labels(figure) -> list[str]:
    return [ax.get_ylabel() or ax.get_xlabel() for ax in colour_bars(figure)]


def gids(figure) -> list[str]:
    return [artist.get_gid() for artist in figure.findobj() if artist.get_gid()]


def planes(figure, name: str) -> int:
    """How many distinct sheets ``<name>-plane-<d>`` were drawn."""
    return len({g for g in gids(figure) if re.fullmatch(rf"{re.escape(name)}-plane-\d+", g)})


# --------------------------------------------------------------------------- kernels


def _gradient_figure(*, transparent: bool = False):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3, 2))
    FigureCanvasAgg(figure)
    if transparent:
        figure.patch.set_alpha(0.0)
    ax = figure.add_axes((0, 0, 1, 0.8))  # a strip of bare background above
    ax.imshow(np.linspace(0, 1, 300 * 600).reshape(300, 600), cmap="viridis", aspect="auto")
    ax.set_axis_off()
    return figure


def test_png_figures_keep_every_colour_unless_a_palette_is_asked_for(tmp_path):
    from PIL import Image

    with Image.open(save_figure(_gradient_figure(), tmp_path / "full.png")) as full:
        assert full.mode == "RGB"  # the opaque alpha channel dropped
        assert len(full.getcolors(maxcolors=1 << 16) or ()) > 256  # a smooth gradient, not banded
    with Image.open(save_figure(_gradient_figure(), tmp_path / "palette.png", colors=16)) as reduced:
        assert reduced.mode == "P"
        assert len(reduced.convert("RGB").getcolors(maxcolors=1 << 16) or ()) <= 16
    with Image.open(save_figure(_gradient_figure(transparent=True), tmp_path / "clear.png")) as clear:
        assert clear.mode == "RGBA"
        assert clear.getchannel("A").getextrema()[0] == 0


def test_kernel_limits_share_one_scale_unless_asked():
    kernels = [np.array([[0.01, -0.02]]), np.array([[2.0, -1.0]]), np.zeros((2, 2))]
    assert kernel_limits(kernels, "shared") == [2.0, 2.0, 2.0]
    assert kernel_limits(kernels, "per-kernel") == [0.02, 2.0, 1.0]  # an all-zero kernel: any positive scale
    with pytest.raises(ParameterError, match=r"^scale: invalid value 'own'; expected one of \['shared', 'per-kernel'\]"):
        kernel_limits(kernels, "own")


@pytest.mark.parametrize("scale", ["shared", "per-kernel"])
def test_kernel_figure_has_colour_bars_norms_and_one_symmetric_scale(scale):
    figure = kernel_figure("gaussian_blur,sobel", scale=scale)
    images = [ax.images[0] for ax in figure.axes if ax.images]
    limits = [image.get_clim() for image in images]
    assert all(low == -high for low, high in limits)  # centred on 0
    if scale == "shared":
        assert {high for _, high in limits} == {2.0}  # sobel's largest weight: the blur looks faint, as it acts
        assert len(colour_bars(figure)) == 1
    else:
        assert [high for _, high in limits][1:] == [2.0, 2.0] and limits[0][1] < 0.2
        assert len(colour_bars(figure)) == 3
    assert any("red positive, blue negative, white 0" in t for t in texts(figure))
    assert sum(t.endswith("norm 3.46") for t in texts(figure)) == 2  # sqrt(12), sobel_x and sobel_y
    assert not too_small(figure)


# --------------------------------------------------------------------------- learned kernels


@pytest.fixture(scope="module")
def gray_comparison(gray_model):
    return compare.compare_model(gray_model, draws=20)


def test_plain_transform_words():
    assert plain_transform("identity", 1) == ""
    assert plain_transform("rot90", -1) == "turned 90°, sign flipped"
    assert plain_transform("flip_lr", 1) == "mirrored left-right"
    assert plain_transform("identity", -1) == "sign flipped"


@pytest.mark.slow
@pytest.mark.parametrize("scale", ["shared", "per-kernel"])
def test_compare_figure_says_what_it_shows(gray_comparison, scale):
    result = gray_comparison
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    figure = compare_figure(result, image, scale=scale)
    words = texts(figure)
    for match, kind in zip(result.matches, result.classes):
        assert any(f"similarity {match.similarity:.2f} (cosine)" in t for t in words)
        # Each kernel labelled with its class above it and above its map on the photo.
        assert any(t.startswith(f"#{match.index}: {kind.kind}\n") and f"size (L2 norm) {match.norm:.2g}" in t for t in words)
        assert f"#{match.index}: {kind.kind}" in words
    assert not any("rot90" in t or "x -1" in t or "|cosine|" in t for t in words)
    title = figure._suptitle.get_text()
    # The count next to what random kernels reach, so that the count means something.
    count = f"{result.edge_detectors} of 6 kernels are edge detectors"
    assert count in title
    assert f"random kernels: {result.class_baseline.mean_edge_detectors:.2f} edge detectors out of 6" in title
    assert f"random kernels {result.baseline.mean:.2f}" in title
    assert any("red positive, blue negative, white 0" in label for label in bar_labels(figure))
    kernels = [ax.images[0] for ax in figure.axes[: len(result.matches)]]
    means = [result.weights.weight[k].astype(np.float64).mean(axis=0) for k in range(len(result.matches))]
    limits = [image.get_clim()[1] for image in kernels]
    if scale == "shared":
        assert limits == pytest.approx([max(np.abs(m).max() for m in means)] * len(means))
    else:
        assert limits == pytest.approx([np.abs(m).max() for m in means])
    assert not too_small(figure)


@pytest.mark.slow
def test_compare_figure_of_an_rgb_model(rgb_model):
    figure = compare_figure(compare.compare_model(rgb_model, draws=10), np.zeros((30, 40, 3), np.uint8))
    assert any("(mean of R, G, B)" in t for t in texts(figure)) and not too_small(figure)


def evolving_comparison(tmp_path):
    model = LeNet(1, 10, seed=0)
    start = model.layers["conv1"].params["weight"].copy()
    sobel = compare.standard_kernels()["sobel5_x"].astype(np.float32)
    model.snapshots = {"conv1.weight": np.stack([start, (start + sobel) / 2, np.broadcast_to(sobel, start.shape)])}
    return compare.compare_model(model.save(tmp_path / "evolving.npz"), draws=10)


def test_evolution_figures_share_a_scale_and_say_so(tmp_path):
    result = evolving_comparison(tmp_path)
    figure = evolution_figure(result)
    words = texts(figure)
    assert any("epoch 0 = the random initialisation" in t or "(0 = the random initialisation)" in t for t in words)
    assert any("what random kernels reach" in t for t in words)
    kernel_images = [ax.images[0] for ax in figure.axes if ax.images]
    assert len({image.get_clim() for image in kernel_images}) == 1  # one scale over every epoch
    counts = [int(n) for n in result.evolution[:, 2]]
    assert any(t.startswith(f"epoch 2\n{counts[2]} edge detector") for t in words)
    assert any(t.startswith("random initialisations:") for t in words)
    assert any(t.startswith(f"#0: {result.classes[0].kind}") for t in words)
    assert colour_bars(figure) and not too_small(figure)
    frame = evolution_frame_figure(result, 2)
    assert colour_bars(frame) and not too_small(frame) and "epoch 2 of 2" in frame._suptitle.get_text()


# --------------------------------------------------------------------------- the tour


@pytest.mark.slow
def test_tour_figure_has_a_colour_bar_per_layer_and_plain_titles():
    model = LeNet(1, 10, seed=1)
    result = nn_inspect.tour(model, nn_inspect.load_tour_image("digit:3", channels=1), source="digit:3")
    figure = tour_figure(result)
    words = texts(figure)
    assert any(t.startswith("C1 conv1: convolution") for t in words)
    assert any(t.startswith("S2 pool1: max pooling") for t in words)
    # The input, and every layer's maps or vector, each with its own colour scale.
    assert len(colour_bars(figure)) == 1 + len(result.maps)
    best = result.class_names[result.prediction]
    assert f"predicted {best!r}" in figure._suptitle.get_text() and "true label" not in figure._suptitle.get_text()
    assert not too_small(figure)


@dataclass(frozen=True)
class LabelledTour(nn_inspect.Tour):
    """A tour that knows its image's class, as a held-out digit's does."""

    true_label: str | None = None


@pytest.mark.slow
def test_tour_figure_draws_the_true_label_next_to_the_prediction():
    model = LeNet(1, 10, seed=1)
    plain = nn_inspect.tour(model, nn_inspect.load_tour_image("digit:3", channels=1), source="digit:3")
    best = plain.class_names[plain.prediction]
    wrong = next(name for name in plain.class_names if name != best)
    for truth, verdict in ((best, "true label"), (wrong, "wrong")):
        tour = LabelledTour(plain.image, plain.maps, plain.probabilities, plain.class_names, plain.source, truth)
        figure = tour_figure(tour)
        title = figure._suptitle.get_text()
        assert f"true label {truth!r}, predicted {best!r}" in title and verdict in title
        assert f"true class: {truth!r}" in texts(figure)  # the legend of the outlined bar


@pytest.mark.slow
def test_tour_of_many_classes_names_each_in_words_under_its_score_and_bar():
    tour = nn_inspect.tour_file(models.DEFAULT_MODEL)
    assert any("_" in name for name in tour.class_names)  # the photos' names, e.g. hubble_deep_field
    figure = drawn(tour_figure(tour))
    words = texts(figure)
    assert all(name.replace("_", " ") in words for name in tour.class_names)
    assert not set(words) & {name for name in tour.class_names if "_" in name}
    # The scores' strip and the bars span the same width, so each score stands above its bar.
    scores = next(ax for ax in figure.axes if ax.get_title(loc="left").startswith("output fc3"))
    bars = next(ax for ax in figure.axes if ax.get_title(loc="left").startswith("softmax"))
    assert scores.get_position().x0 == pytest.approx(bars.get_position().x0)
    assert scores.get_position().x1 == pytest.approx(bars.get_position().x1)
    assert scores.get_xlim() == pytest.approx(bars.get_xlim())


# --------------------------------------------------------------------------- Canny


@pytest.fixture(scope="module")
def cat():
    return imageio.read_image(SAMPLES / "chelsea.jpg").pixels[::4, ::4]


def test_canny_figure_draws_the_stages_it_is_given(cat, monkeypatch):
    stages = edges.canny_stages(cat, sigma=1.5, low=0.6, high=0.8, quantile=True)
    assert (stages.sigma, stages.mode, stages.full_scale, stages.quantiles) == (1.5, "luminance", 255.0, (0.6, 0.8))

    def refuse(*args, **kwargs):
        raise AssertionError("canny_figure must draw the stages it is given, not run the detector")

    monkeypatch.setattr(edges, "canny_stages", refuse)
    monkeypatch.setattr(edges, "canny", refuse)
    figure = canny_figure(stages, cat)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    numbers = [int(m.group(1)) for m in (re.match(r"(\d+)\. ", title) for title in titles) if m]
    assert numbers == list(range(1, 9))  # each stage its own number, in order
    title = figure._suptitle.get_text()
    assert "sigma = 1.5" in title and "quantiles" in title and f"{stages.high:.3g}" in title
    words = texts(figure)
    assert {"right", "down", "left", "up"} <= set(words)  # the colour wheel of the direction
    assert sum("red positive" in label for label in bar_labels(figure)) == 2  # gx and gy
    assert any(t.startswith("edge\n(") for t in words) and not too_small(figure)


def test_canny_figure_refuses_another_image(cat):
    stages = edges.canny_stages(cat)
    with pytest.raises(ParameterError, match="^image: expected the"):
        canny_figure(stages, cat[:-1])


# --------------------------------------------------------------------------- sliding windows in 2-D


@pytest.mark.parametrize(
    "explanation",
    [
        explain.explain_conv(size=5, kernel=3, padding=1, stride=2, seed=1),
        explain.explain_conv(size=4, kernel=2, flip=True, seed=2),
        explain.explain_pool(size=4, kernel=2, mode="max"),
        explain.explain_pool(size=5, kernel=3, stride=2, mode="avg"),
    ],
    ids=["conv", "flip", "max", "avg"],
)
def test_explain_figures_have_one_colour_scale_a_legend_and_readable_text(explanation):
    frame = explain_frame_figure(explanation, len(explanation.steps) - 1)
    strip = explain_strip_figure(explanation)
    for figure in (frame, strip):
        assert len(colour_bars(figure)) == 1 and "every number's colour" in bar_labels(figure)[0]
        assert "black frame" in figure._supxlabel.get_text()
        assert not too_small(figure)
    # Every number in the frame is coloured on the one scale: the same norm object everywhere.
    step = explanation.steps[-1]
    title = frame._suptitle.get_text()
    if explanation.kernel is not None:
        # The bias where it is added, and the sum from the plain definition.
        total = reference.correlate(step.window, explanation.applied)[0, 0]
        assert f"sum of products + bias = {int(total)} + " in title and title.count(f"= {int(step.value)}") >= 1
        assert total + explanation.bias == step.value
        assert any(t.startswith("kernel") and f"bias b = {int(explanation.bias)}" in t for t in texts(frame))
    elif explanation.operation == "max pooling":
        assert f"largest in the window = {int(step.window.max())}" in title


# --------------------------------------------------------------------------- the layer in 3-D


@pytest.mark.slow
def test_volume_frames_draw_c_input_planes_f_output_planes_and_the_arithmetic():
    e = explain.explain_volume(size=3, kernel=2, channels=3, filters=2, padding=0, seed=5)
    for index, step in enumerate(e.steps):
        figure = explain_plots.volume_frame_figure(e, index)
        assert planes(figure, "input") == planes(figure, "kernel") == planes(figure, "products") == 3
        assert planes(figure, "output") == 2
        assert "kernel-box" in gids(figure) and "output-cell" in gids(figure)
        words = texts(figure)
        # Each channel's sum and the total, from the plain loop on that channel alone.
        for c in range(3):
            channel = reference.correlate(e.image[:, :, c], e.kernels[step.filter, :, :, c])[step.row, step.column]
            assert f"sum {int(channel)}" in words
        value = reference.correlate(e.image, e.kernels[step.filter], bias=e.bias[step.filter])[step.row, step.column]
        assert f"= {int(value)}" in figure._suptitle.get_text().splitlines()[1]
        assert any(t.endswith(f"(bias)\n= {int(value)}") for t in words)
    assert {"width", "height (rows)", "depth (channels)"} <= set(words)
    assert any("kernel box: k x k x input depth (here 2x2x3)" in t and "output cell" in t for t in words)
    assert any("every number's colour" in label for label in bar_labels(figure))
    assert not too_small(figure)


@pytest.mark.parametrize(("channels", "filters"), [(1, 1), (2, 4), (4, 3)])
def test_volume_figures_follow_the_options(channels, filters):
    e = explain.explain_volume(size=4, kernel=3, padding=1, stride=2, channels=channels, filters=filters, flip=True)
    frame = explain_plots.volume_frame_figure(e, 0)
    assert planes(frame, "input") == channels and planes(frame, "output") == filters
    assert any("rotated 180° in width and height,\nnot in depth" in t for t in texts(frame))
    strip = explain_plots.volume_strip_figure(e)
    assert planes(strip, "input") == channels and planes(strip, "output") == filters
    assert all(planes(strip, f"kernel-{f}") == channels for f in range(filters))
    # One small drawing per output cell, each with its box: F * m * m of them.
    assert gids(strip).count("kernel-box") >= len(e.steps)
    words = texts(strip)
    assert {"width", "height (rows)", "depth (channels)"} <= set(words) and any("kernel box" in t for t in words)
    assert not too_small(strip)


# --------------------------------------------------------------------------- the network as volumes


@pytest.mark.parametrize("name", ["digits", "shapes"])
def test_network_figure_follows_the_shipped_models_shapes(name):
    rows = nn_inspect.summarize(nn_inspect.load_model(name))
    figure = network_figure(rows)
    words = texts(figure)
    channels = rows[0].output_shape[0]
    assert f"input: {channels}@32x32" in words
    for row in rows:
        if row.lenet_name:
            assert f"{row.lenet_name}: {row.shape}" in words
            if len(row.output_shape) == 3:
                assert planes(figure, row.lenet_name) == row.output_shape[0]
            else:
                assert f"{row.lenet_name}-bar" in gids(figure)
    assert planes(figure, "input") == channels
    assert f"5x5x{channels} kernel" in words and "5x5x6 kernel" in words  # the boxes C1 and C3 read
    assert {"kernel-box-C1", "kernel-box-C3", "pool-window-S2", "pool-window-S4"} <= set(gids(figure))
    assert {"width", "height (rows)", "depth (channels)"} <= set(words)
    assert not too_small(figure)


def _corner(figure, gid: str) -> np.ndarray:
    """The lowest-left page point of the artists with ``gid`` (a sheet's cells, a map's square), in pixels."""
    drawn(figure)
    points = [
        a.axes.transData.transform(np.vstack([path.vertices for path in a.get_paths()]))
        if isinstance(a, Collection)
        else a.get_window_extent().get_points()
        for a in figure.findobj()
        if a.get_gid() == gid
    ]
    return np.vstack(points).min(axis=0)


def _depth_arrow(figure) -> np.ndarray:
    """The unit vector, in pixels, of the key's arrow labelled "depth (channels)"."""
    drawn(figure)
    label = next(t for t in figure.findobj(Text) if t.get_text() == "depth (channels)")
    arrows = [a for a in figure.findobj(FancyArrowPatch) if a.get_gid() is None]
    ax = label.axes
    start, end = min(
        ((ax.transData.transform(a._posA_posB[0]), ax.transData.transform(a._posA_posB[1])) for a in arrows),
        key=lambda ends: np.linalg.norm(ends[1] - label.get_window_extent().get_points()[0]),
    )
    return (end - start) / np.linalg.norm(end - start)


def test_the_network_and_the_layer_in_3d_share_one_convention():
    # The same directions: the second sheet of a volume up and to the right of the first, as the key's depth arrow says.
    network = network_figure(nn_inspect.summarize(nn_inspect.load_model("digits")))
    layer = explain_plots.volume_frame_figure(explain.explain_volume(size=5, kernel=3, channels=3, filters=2), 0)
    for figure, name in ((network, "C1"), (layer, "input")):
        behind = _corner(figure, f"{name}-plane-1") - _corner(figure, f"{name}-plane-0")
        assert behind[0] > 0 and behind[1] > 0
        arrow = _depth_arrow(figure)
        assert arrow[0] > 0.3 and arrow[1] > 0.3
        assert abs(np.arctan2(*behind[::-1]) - np.arctan2(*arrow[::-1])) < 0.1  # the key points where the sheets go
    assert np.allclose(_depth_arrow(network), _depth_arrow(layer), atol=0.05)
    # The same key, the same words for the kernel box, the same green for it and the cell it fills.
    for words in ("width", "height (rows)", "depth (channels)"):
        assert words in texts(network) and words in texts(layer)
    boxes = [t for f in (network, layer) for t in texts(f) if t.startswith("kernel box: k x k x input depth")]
    assert len(boxes) == 2 and all("the output cell it fills" in t for t in boxes)
    green = {tuple(np.round(a.get_edgecolor(), 3)) for a in network.findobj(Rectangle) if a.get_gid() == "kernel-box-C1"}
    green |= {
        tuple(np.round(a.get_edgecolor(), 3)) for a in layer.findobj(Polygon) if a.get_gid() in ("kernel-box", "output-cell")
    }
    assert len(green) == 1
    assert "exploded view" in layer._suptitle.get_text()


def test_the_network_draws_a_pooling_window_on_one_map_a_kernel_box_through_all():
    figure = network_figure(nn_inspect.summarize(nn_inspect.load_model("digits")))
    pooling = [a for a in figure.findobj() if a.get_gid() == "pool-window-S2"]
    kernel = [a for a in figure.findobj() if a.get_gid() == "kernel-box-C3"]
    assert len(pooling) == 1 and isinstance(pooling[0], Rectangle)
    assert len([a for a in kernel if isinstance(a, Rectangle)]) == 2 and len(kernel) == 6  # front, back, four depth edges


def test_network_figure_of_another_model():
    rows = nn_inspect.summarize(LeNet(3, 4, seed=0))
    words = texts(network_figure(rows))
    assert "input: 3@32x32" in words and "output: 4" in words and "F5: 120" in words
