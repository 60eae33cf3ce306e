"""Tests of :mod:`convfx.render`: one file from disk to disk, and strip-by-strip rendering.

Every output is checked against the in-memory pipeline, ``map_range(apply(pixels))``,
on the same pixels: the file path and the strips add no maths of their own.
"""

from __future__ import annotations

import os
import pickle
import tracemalloc

import numpy as np
import pytest
from PIL import Image

import convfx
from convfx import effects, imageio, ranges, render
from convfx.ranges import map_range
from convfx.render import render_file

# --------------------------------------------------------------------------- one file


def test_default_output_path_names_the_effect_next_to_the_source():
    assert render.default_output_path("photos/cat.jpg", "gaussian_blur,sobel").as_posix() == "photos/cat_gaussian_blur-sobel.png"
    assert render.default_output_path("cat.tif", "sobel").as_posix() == "cat_sobel.png"


def test_filter_and_map_is_apply_then_map_range(photo):
    expected = map_range(convfx.apply(photo, "laplacian", boundary="wrap"), "normalize", dtype=np.uint16)
    pixels = render.filter_and_map(photo, "laplacian", boundary="wrap", output_range="normalize", dtype=np.uint16)
    assert pixels.dtype == np.uint16
    np.testing.assert_array_equal(pixels, expected)
    # output_range=None: the effect's own (abs for sobel)
    np.testing.assert_array_equal(render.filter_and_map(photo, "sobel"), map_range(convfx.apply(photo, "sobel"), "abs"))


def test_render_file_default_name_and_content(photo_png, photo):
    written = render_file(photo_png, None, "sobel")
    assert written == photo_png.with_name("photo_sobel.png")
    expected = map_range(convfx.apply(photo, "sobel"), "abs")
    np.testing.assert_array_equal(imageio.read_image(written).pixels, expected)


def test_render_file_range_and_gray_overrides(photo_png, photo):
    out = render_file(photo_png, photo_png.with_name("o.png"), "sobel_x", output_range="signed", gray=True)
    pixels = imageio.read_image(out).pixels
    assert pixels.shape == photo.shape[:2]
    np.testing.assert_array_equal(pixels, map_range(convfx.apply(photo, "sobel_x", gray=True), "signed"))


def test_render_file_refuses_existing_output_and_the_input(photo_png):
    out = render_file(photo_png, photo_png.with_name("o.png"), "gaussian_blur")
    before = out.read_bytes()
    with pytest.raises(imageio.OutputExistsError):
        render_file(photo_png, out, "sobel")
    assert out.read_bytes() == before
    render_file(photo_png, out, "sobel", overwrite=True)
    assert out.read_bytes() != before
    original = photo_png.read_bytes()
    for target in (photo_png, photo_png.parent / "." / photo_png.name):
        with pytest.raises(convfx.ParameterError, match="is the input file"):
            render_file(photo_png, target, "sobel", overwrite=True)
    assert photo_png.read_bytes() == original


def test_alpha_passes_through_unfiltered(tmp_path, photo, rng):
    alpha = rng.integers(0, 256, photo.shape[:2], dtype=np.uint8)
    Image.fromarray(np.dstack([photo, alpha])).save(tmp_path / "a.png")
    out = imageio.read_image(render_file(tmp_path / "a.png", tmp_path / "b.png", "gaussian_blur"))
    np.testing.assert_array_equal(out.alpha, alpha)
    np.testing.assert_array_equal(out.pixels, map_range(convfx.apply(photo, "gaussian_blur"), "clip"))


def test_sixteen_bit_stays_sixteen_bit(tmp_path, rng):
    rgb = rng.integers(0, 65536, (16, 20, 3), dtype=np.uint16)
    imageio.write_image(tmp_path / "in.png", rgb)
    same = imageio.read_image(render_file(tmp_path / "in.png", tmp_path / "id.png", "identity"))
    np.testing.assert_array_equal(same.pixels, rgb)  # exact: no trip through 8 bits
    blurred = imageio.read_image(render_file(tmp_path / "in.png", tmp_path / "blur.tif", "gaussian_blur"))
    assert blurred.pixels.dtype == np.uint16
    small = imageio.read_image(render_file(tmp_path / "in.png", tmp_path / "id.jpg", "identity"))
    assert small.pixels.dtype == np.uint8


def test_render_file_checks_options_before_reading(tmp_path, photo_png):
    with pytest.raises(convfx.ParameterError, match="output_range"):
        render_file(photo_png, tmp_path / "o.png", "sobel", output_range="bright")
    with pytest.raises(convfx.ParameterError, match="boundary"):
        render_file(photo_png, tmp_path / "o.png", "sobel", boundary="mirror")
    with pytest.raises(convfx.ParameterError, match="unsupported file type"):
        render_file(photo_png, tmp_path / "o.gif", "sobel")
    assert sorted(os.listdir(tmp_path)) == ["photo.png"]


def test_render_file_is_picklable_for_process_pools():
    assert pickle.loads(pickle.dumps(render_file)) is render_file


# --------------------------------------------------------------------------- strips with a halo


@pytest.mark.parametrize(
    ("effect", "options"),
    [
        ("sobel", {}),
        ("gaussian_blur:sigma=3,sobel", {}),  # a chain: the halo is the sum of the radii
        ("emboss", {"boundary": "wrap"}),  # wrap takes its halo from the opposite edge
        ("laplacian", {"boundary": "constant", "output_range": "signed"}),
        ("sobel", {"output_range": "normalize"}),  # global min/max: two passes
        ("sharpen", {"gray": True, "boundary": "symmetric"}),
        ("kirsch", {"boundary": "edge"}),
    ],
)
def test_tiled_equals_untiled(rng, effect, options):
    pixels = rng.integers(0, 256, size=(61, 53, 3), dtype=np.uint8)
    policy = options.pop("output_range", None)
    parsed = effects.parse_effect(effect)
    whole = ranges.map_range(effects.apply(pixels, parsed, **options), policy or parsed.output_range)
    budget = 53 * 3 * 100  # a few rows per strip
    assert render.strip_rows(pixels.shape, parsed, memory_budget=budget, output_range=policy) < 10
    tiled = render.render_in_tiles(pixels, parsed, output_range=policy, memory_budget=budget, **options)
    np.testing.assert_array_equal(tiled, whole)
    one_row = render.render_in_tiles(pixels, parsed, output_range=policy, memory_budget=1, **options)
    np.testing.assert_array_equal(one_row, whole)


def test_a_non_local_detector_is_filtered_whole_whatever_the_budget(rng):
    pixels = rng.integers(0, 256, size=(61, 53, 3), dtype=np.uint8)
    assert render.tileable("gaussian_blur,sobel") and not render.tileable("canny")
    whole = ranges.map_range(effects.apply(pixels, "canny"), "binary")
    np.testing.assert_array_equal(render.render_in_tiles(pixels, "canny", memory_budget=1), whole)


def test_tile_halo_is_the_chains_total_kernel_radius():
    assert render.tile_halo("sobel") == 1
    assert render.tile_halo("gaussian_blur:size=9,sobel") == 4 + 1
    assert render.tile_halo(np.ones((4, 2))) == 2  # even kernels: the larger side


def test_a_16_bit_file_forced_to_tile_keeps_the_untiled_output_rules(tmp_path):
    # The tiled file path is render_file itself: binary maps are 8-bit, 16-bit
    # responses stay 16-bit, exactly as untiled.
    source = tmp_path / "deep.png"
    pixels = np.random.default_rng(7).integers(0, 65536, size=(40, 56, 3), dtype=np.uint16)
    imageio.write_image(source, pixels)
    for output_range, dtype in [("binary", np.uint8), ("abs", np.uint16)]:
        whole = render.render_file(source, tmp_path / f"whole_{output_range}.png", "sobel", output_range=output_range)
        tiled = render.render_file_in_tiles(
            source, tmp_path / f"tiled_{output_range}.png", "sobel", output_range=output_range, memory_budget=1
        )
        expected = imageio.read_image(whole).pixels
        assert expected.dtype == dtype
        np.testing.assert_array_equal(imageio.read_image(tiled).pixels, expected)


def test_tiling_bounds_peak_memory(rng):
    pixels = rng.integers(0, 256, size=(800, 400, 3), dtype=np.uint8)
    budget = 2_000_000

    def peak(function) -> int:
        tracemalloc.start()
        try:
            function()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    whole = peak(lambda: ranges.map_range(effects.apply(pixels, "sobel"), "abs"))
    tiled = peak(lambda: render.render_in_tiles(pixels, "sobel", memory_budget=budget))
    assert whole > 5 * budget  # the image would not fit
    assert tiled < budget + pixels.nbytes  # the budget plus the uint8 result
