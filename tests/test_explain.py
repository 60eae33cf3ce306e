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
    np.testing.assert_array_equal(e.output, reference.correlate(e.image, e.kernel, stride=2, padding=1))
    for step in e.steps:
        assert (step.top, step.left) == (2 * step.row, 2 * step.column)
        np.testing.assert_array_equal(step.terms, step.window * e.kernel)
        assert step.terms.sum() == step.value == e.output[step.row, step.column]
    assert np.all((e.image >= 0) & (e.image <= 9) & (e.image == np.round(e.image)))


def test_conv_output_by_hand():
    e = explain.explain_conv(size=3, kernel=2, stride=1, padding=0, seed=7)
    (a, b), (c, d) = e.kernel
    image = e.image
    # Each output cell is the 2x2 window under it times the kernel, summed.
    for row in range(2):
        for column in range(2):
            window = image[row : row + 2, column : column + 2]
            by_hand = a * window[0, 0] + b * window[0, 1] + c * window[1, 0] + d * window[1, 1]
            assert e.output[row, column] == by_hand
    flipped = explain.explain_conv(size=3, kernel=2, padding=0, seed=7, flip=True)
    # Convolution slides the kernel turned half a turn: rows [d, c] over [b, a].
    assert flipped.output[0, 0] == d * image[0, 0] + c * image[0, 1] + b * image[1, 0] + a * image[1, 1]


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
    np.testing.assert_array_equal(flipped.output, reference.convolve(flipped.image, flipped.kernel, padding=1))
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
    result = runner.invoke(app, ["explain", "conv", "--size", "5", "--kernel", "3", "--stride", "2", "--padding", "1", "-o", str(out)])
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
