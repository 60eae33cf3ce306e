"""convfx.explain (the steps of a sliding window) and ``convfx explain conv`` / ``pool``."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from convfx import explain, reference
from convfx.cli import app
from convfx.errors import ParameterError

runner = CliRunner()


def test_conv_steps_follow_the_size_formula_and_the_engine():
    e = explain.explain_conv(size=7, kernel=3, stride=2, padding=1, seed=4)
    assert e.output.shape == (4, 4) and len(e.steps) == 16
    assert e.formula.endswith("floor((7 + 2*1 - 3) / 2) + 1 = 4")
    assert e.padded.shape == (9, 9) and np.array_equal(e.padded[1:-1, 1:-1], e.image)
    # The plain-loop definition, not the engine call explain_conv itself made.
    np.testing.assert_array_equal(e.output, reference.correlate(e.image, e.kernel, bias=e.bias, stride=2, padding=1))
    assert e.bias == int(e.bias) and -2 <= e.bias <= 2
    for step in e.steps:
        assert (step.top, step.left) == (2 * step.row, 2 * step.column)
        np.testing.assert_array_equal(step.terms, step.window * e.kernel)
        assert step.terms.sum() + e.bias == step.value == e.output[step.row, step.column]
    assert np.all((e.image >= 0) & (e.image <= 9) & (e.image == np.round(e.image)))


def test_conv_output_by_hand():
    e = explain.explain_conv(size=3, kernel=2, stride=1, padding=0, seed=7)
    (a, b), (c, d) = e.kernel
    image = e.image
    # Each output cell is the 2x2 window under it times the kernel, summed.
    for row in range(2):
        for column in range(2):
            window = image[row : row + 2, column : column + 2]
            by_hand = a * window[0, 0] + b * window[0, 1] + c * window[1, 0] + d * window[1, 1] + e.bias
            assert e.output[row, column] == by_hand
    flipped = explain.explain_conv(size=3, kernel=2, padding=0, seed=7, flip=True)
    # Convolution slides the kernel turned half a turn: rows [d, c] over [b, a].
    assert flipped.output[0, 0] == d * image[0, 0] + c * image[0, 1] + b * image[1, 0] + a * image[1, 1] + e.bias


def test_bias_option_shifts_every_output_cell():
    plain = explain.explain_conv(size=5, seed=3, bias=0)
    np.testing.assert_array_equal(plain.output, reference.correlate(plain.image, plain.kernel))
    shifted = explain.explain_conv(size=5, seed=3, bias=2.5)
    np.testing.assert_array_equal(shifted.output, plain.output + 2.5)
    seeded = explain.explain_conv(size=5, seed=3)
    # The seeded bias is drawn after the image and kernel: the same seed, the same numbers.
    assert np.array_equal(seeded.image, plain.image) and np.array_equal(seeded.kernel, plain.kernel)
    for bad in (float("nan"), "1", True):
        with pytest.raises(ParameterError, match="^bias: expected a finite number"):
            explain.explain_conv(bias=bad)


def test_conv_is_seeded():
    first, again, other = (explain.explain_conv(seed=s) for s in (1, 1, 2))
    assert np.array_equal(first.image, again.image) and np.array_equal(first.kernel, again.kernel)
    assert not np.array_equal(first.image, other.image)


@pytest.mark.parametrize("kernel", [2, 3, 4])
def test_flip_is_convolution_and_differs_from_correlation(kernel):
    plain = explain.explain_conv(size=6, kernel=kernel, padding=1, seed=0)
    flipped = explain.explain_conv(size=6, kernel=kernel, padding=1, seed=0, flip=True)
    assert not np.array_equal(flipped.kernel, flipped.kernel[::-1, ::-1])  # asymmetric by construction
    assert np.array_equal(flipped.applied, flipped.kernel[::-1, ::-1])
    np.testing.assert_array_equal(flipped.output, reference.convolve(flipped.image, flipped.kernel, bias=flipped.bias, padding=1))
    np.testing.assert_array_equal(flipped.correlation, plain.output)
    assert not np.array_equal(flipped.output, plain.output)
    assert flipped.operation == "convolution" and plain.operation == "cross-correlation"


@pytest.mark.parametrize(("mode", "reduce"), [("max", np.max), ("avg", np.mean)])
def test_pool_values(mode, reduce):
    e = explain.explain_pool(size=7, kernel=3, stride=2, mode=mode, seed=5)
    assert e.output.shape == (3, 3) and len(e.steps) == 9
    for step in e.steps:
        window = e.image[2 * step.row : 2 * step.row + 3, 2 * step.column : 2 * step.column + 3]
        assert step.value == pytest.approx(reduce(window))
    default = explain.explain_pool(size=6, mode=mode)
    assert default.stride == 2 and default.output.shape == (3, 3)
    np.testing.assert_allclose(default.output, reduce(default.image.reshape(3, 2, 3, 2), axis=(1, 3)))


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"size": 0}, "size"),
        ({"size": 13}, "size"),
        ({"kernel": 0}, "kernel"),
        ({"kernel": 8}, "kernel"),
        ({"stride": 0}, "stride"),
        ({"padding": -1}, "padding"),
        ({"padding": 3}, "padding"),
    ],
)
def test_bad_conv_options_name_the_option(options, name):
    with pytest.raises(ParameterError, match=f"^{name}:"):
        explain.explain_conv(**options)


@pytest.mark.parametrize("seed", [-1, 2**63, True, 1.0])
@pytest.mark.parametrize("explained", [explain.explain_conv, explain.explain_pool])
def test_seed_is_checked_and_named(explained, seed):
    with pytest.raises(ParameterError, match=r"^seed: expected an int"):
        explained(seed=seed)


def test_largest_seed_is_accepted():
    assert explain.explain_pool(seed=2**63 - 1).output.shape == (3, 3)


def test_too_large_pooling_window_is_worded_for_pooling():
    with pytest.raises(ParameterError) as info:
        explain.explain_pool(size=6, kernel=8)
    assert str(info.value) == "kernel: expected a pooling window of at most size = 6, found 8"


def test_bad_pool_mode_lists_the_choices():
    with pytest.raises(ParameterError, match=r"mode: invalid value 'median'; expected one of \['max', 'avg'\]"):
        explain.explain_pool(mode="median")  # type: ignore[arg-type]


@pytest.mark.slow
def test_explain_conv_gif_has_one_frame_per_output_cell(tmp_path):
    out = tmp_path / "conv.gif"
    result = runner.invoke(
        app, ["explain", "conv", "--size", "5", "--kernel", "3", "--stride", "2", "--padding", "1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "9 steps" in result.stdout and str(out) in result.stdout
    with Image.open(out) as gif:
        assert gif.format == "GIF" and gif.n_frames == 9  # 3x3 output cells, no intro or outro frames
        assert gif.size[0] > 300 and gif.size[1] > 150


@pytest.mark.slow
def test_explain_conv_flip_png_strip(tmp_path):
    out = tmp_path / "conv.png"
    result = runner.invoke(app, ["explain", "conv", "--size", "4", "--kernel", "2", "--flip", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("convolution: 9 steps")
    with Image.open(out) as strip:
        assert strip.format == "PNG" and strip.size[0] >= 500 and strip.size[1] >= 400


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_explain_pool_gif_and_png(tmp_path, mode):
    gif = tmp_path / f"{mode}.gif"
    result = runner.invoke(app, ["explain", "pool", "--mode", mode, "--size", "4", "-o", str(gif)])
    assert result.exit_code == 0, result.output
    with Image.open(gif) as frames:
        assert frames.n_frames == 4
    png = tmp_path / f"{mode}.png"
    assert runner.invoke(app, ["explain", "pool", "--mode", mode, "--size", "4", "-o", str(png)]).exit_code == 0
    assert png.stat().st_size > 2_000


# --------------------------------------------------------------------------- the layer in 3-D


@pytest.mark.parametrize(
    ("channels", "filters", "stride", "padding", "flip"),
    [(1, 1, 1, 0, False), (3, 2, 2, 1, False), (4, 4, 1, 2, False), (2, 3, 1, 1, True), (1, 2, 2, 0, True)],
)
def test_volume_steps_equal_the_plain_loop_definition(channels, filters, stride, padding, flip):
    e = explain.explain_volume(
        size=6, kernel=3, stride=stride, padding=padding, channels=channels, filters=filters, flip=flip, seed=2
    )
    m = (6 + 2 * padding - 3) // stride + 1
    assert e.image.shape == (6, 6, channels) and e.kernels.shape == (filters, 3, 3, channels) and e.bias.shape == (filters,)
    assert e.output.shape == (m, m, filters) and (e.channels, e.filters) == (channels, filters)
    # The plain loop of convfx.reference with the whole (F, k, k, C) bank, not the engine's call.
    definition = reference.convolve if flip else reference.correlate
    np.testing.assert_array_equal(e.output, definition(e.image, e.kernels, bias=e.bias, stride=stride, padding=padding))
    # One step per output cell, kernel by kernel, each the sum over its whole box plus its bias.
    assert [(s.filter, s.row, s.column) for s in e.steps] == [
        (f, r, c) for f in range(filters) for r in range(m) for c in range(m)
    ]
    for step in e.steps:
        box = e.padded[step.top : step.top + 3, step.left : step.left + 3, :]
        assert (step.top, step.left) == (stride * step.row, stride * step.column) and np.array_equal(step.window, box)
        np.testing.assert_array_equal(step.products, box * e.applied[step.filter])
        np.testing.assert_array_equal(step.channel_sums, step.products.sum(axis=(0, 1)))
        assert step.channel_sums.sum() + e.bias[step.filter] == step.value == e.output[step.row, step.column, step.filter]


def test_volume_flip_rotates_each_kernel_in_width_and_height_not_in_depth():
    e = explain.explain_volume(size=5, kernel=3, channels=3, filters=2, flip=True, seed=4)
    for f in range(2):
        for c in range(3):
            np.testing.assert_array_equal(e.applied[f, :, :, c], np.rot90(e.kernels[f, :, :, c], 2))
        assert not np.array_equal(e.kernels[f], e.kernels[f, ::-1, ::-1])  # so the flip shows
    plain = explain.explain_volume(size=5, kernel=3, channels=3, filters=2, seed=4)
    np.testing.assert_array_equal(e.correlation, plain.output)
    assert e.operation == "convolution" and plain.operation == "cross-correlation" and plain.correlation is None


def test_volume_padding_is_around_each_channel_never_in_depth():
    e = explain.explain_volume(size=4, kernel=3, padding=2, channels=2, filters=1)
    assert e.padded.shape == (8, 8, 2)
    np.testing.assert_array_equal(e.padded[2:-2, 2:-2], e.image)
    assert not e.padded[:2].any() and not e.padded[:, -2:].any()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"channels": 0}, "channels: expected an int in 1..4, found 0"),
        ({"channels": 5}, "channels: expected an int in 1..4, found 5"),
        ({"filters": 0}, "filters: expected an int in 1..4, found 0"),
        ({"filters": 9}, "filters: expected an int in 1..4, found 9"),
        ({"channels": 2.0}, "channels: expected an int"),
        ({"size": 3, "kernel": 5}, "kernel: expected at most size + 2*padding = 3, found 5"),
    ],
)
def test_bad_volume_options_name_the_option(options, message):
    with pytest.raises(ParameterError) as info:
        explain.explain_volume(**options)
    assert str(info.value).startswith(message)


@pytest.mark.slow
def test_explain_conv_in_3d_gif_has_one_frame_per_output_cell_of_every_map(tmp_path):
    out = tmp_path / "layer.gif"
    arguments = ["explain", "conv", "--channels", "2", "--filters", "2", "--size", "4", "--kernel", "3", "-o", str(out)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("cross-correlation: 8 steps, output 2x2x2")
    with Image.open(out) as gif:
        assert gif.n_frames == 8  # 2x2 cells in each of 2 maps
    strip = tmp_path / "layer.png"
    flipped = runner.invoke(app, ["explain", "conv", "--filters", "3", "--size", "4", "--flip", "-o", str(strip)])
    assert flipped.exit_code == 0, flipped.output
    assert flipped.stdout.startswith("convolution: 12 steps, output 2x2x3")  # 2x2 cells in 3 maps; channels: the default
    with Image.open(strip) as png:
        assert png.format == "PNG"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["conv", "--size", "20"], "size: expected an int in 1..12, found 20"),
        (["conv", "--kernel", "13"], "kernel: expected an int in 1..12, found 13"),
        (["conv", "--kernel", "9", "--size", "7"], "kernel: expected at most size + 2*padding = 7, found 9"),
        (["conv", "--stride", "0"], "stride: expected an int >= 1, found 0"),
        (["conv", "-o", "conv.jpg"], "unsupported file type '.jpg'"),
        (["conv", "--milliseconds", "0"], "milliseconds: expected an int >= 1"),
        (["pool", "--mode", "median"], "mode: invalid value 'median'"),
        (["pool", "--size", "6", "--kernel", "8"], "kernel: expected a pooling window of at most size = 6, found 8"),
        (["conv", "--seed", "-1"], "seed: expected an int in 0..9223372036854775807, found -1"),
        (["conv", "--channels", "0"], "channels: expected an int in 1..4, found 0"),
        (["conv", "--filters", "9"], "filters: expected an int in 1..4, found 9"),
        (["conv", "--channels", "2", "--kernel", "9"], "kernel: expected at most size + 2*padding = 7, found 9"),
        (["conv", "--bias", "inf"], "bias: expected a finite number, found inf"),
        (["pool", "--seed", "99999999999999999999"], "seed: expected an int in 0..9223372036854775807, found 9999"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, monkeypatch, arguments, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["explain", *arguments])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convfx: error: ") and message in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []
