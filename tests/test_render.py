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


def test_a_long_chain_gets_a_short_output_name_that_still_tells_effects_apart(tmp_path, photo_png):
    chain = ",".join(["gaussian_blur_3"] * 30)
    path = render.default_output_path(photo_png, chain)
    label = path.name[len("photo_") : -len(".png")]
    assert len(label) == effects.MAX_SLUG_CHARS and label.startswith("gaussian_blur_3-gaussian_blur_3-")
    assert render.default_output_path(photo_png, ",".join(["gaussian_blur_3"] * 31)) != path
    assert render.default_output_path(photo_png, "gaussian_blur,sobel").name == "photo_gaussian_blur-sobel.png"
    assert render_file(photo_png, None, chain) == path and path.is_file()


def test_an_output_name_the_file_system_refuses_is_one_line(tmp_path, photo_png):
    with pytest.raises(convfx.FileError, match=r"cannot use this output name: File name too long"):
        render_file(photo_png, tmp_path / ("x" * 300 + ".png"), "sobel")


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


def test_dropping_alpha_is_reported_through_warn(tmp_path, photo, rng):
    source = tmp_path / "rgba.png"
    imageio.write_image(source, photo, alpha=rng.integers(0, 256, photo.shape[:2], dtype=np.uint8))
    opaque = tmp_path / "rgb.png"
    imageio.write_image(opaque, photo)
    for suffix, dropped in ((".jpg", True), (".bmp", True), (".png", False), (".webp", False), (".tif", False)):
        warnings: list[str] = []
        render_file(source, tmp_path / f"out{suffix}", "sobel", warn=warnings.append)
        expected = [f"{tmp_path / f'out{suffix}'}: {imageio.WRITE_FORMATS[suffix]} has no alpha channel; the input's transparency was dropped"]
        assert warnings == (expected if dropped else [])
        render_file(opaque, tmp_path / f"opaque{suffix}", "sobel", warn=warnings.append)
        assert warnings == (expected if dropped else [])  # nothing to drop, nothing said
    render_file(source, tmp_path / "quiet.jpg", "sobel")  # no callback: nothing to report to


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


@pytest.mark.parametrize("effect", ["gaussian_blur", "sobel", "learned:digits#0", "canny,sobel"])
def test_binary_is_refused_unless_the_effect_ends_in_an_edge_detector(tmp_path, effect, rng):
    pixels = rng.integers(0, 256, size=(20, 24, 3), dtype=np.uint8)
    missing = tmp_path / "not-read.png"  # the range is checked before anything is read
    calls = [
        lambda: render.render_file(missing, tmp_path / "out.png", effect, output_range="binary"),
        lambda: render.filter_and_map(pixels, effect, output_range="binary"),
        lambda: render.render_in_tiles(pixels, effect, output_range="binary", memory_budget=1),
    ]
    for call in calls:
        with pytest.raises(convfx.ParameterError, match=r"^output_range: 'binary' is for edge maps"):
            call()
    assert not (tmp_path / "out.png").exists()


def test_binary_is_the_edge_detectors_own_range(rng):
    pixels = rng.integers(0, 256, size=(20, 24, 3), dtype=np.uint8)
    for effect in ("canny", "gaussian_blur,marr_hildreth", "canny:sigma=2"):
        assert effects.parse_effect(effect).resolve_output_range() == "binary"
        assert set(np.unique(render.filter_and_map(pixels, effect, output_range="binary"))) <= {0, 255}
    assert effects.parse_effect("gaussian_blur").resolve_output_range("minmax") == "minmax"
    with pytest.raises(convfx.ParameterError, match="invalid value 'wrap'"):
        effects.parse_effect("sobel").resolve_output_range("wrap")


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
        ("sobel", {"output_range": "normalize"}),  # global percentiles: two counting passes, then the mapping
        ("laplacian", {"output_range": "minmax"}),  # global extremes: one pass, then the mapping
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


@pytest.mark.parametrize("output_range", ["normalize", "minmax"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_stretches_in_strips_are_byte_identical_to_the_whole(rng, output_range, dtype):
    """Percentiles found strip by strip are the whole response's, so every pixel maps the same."""
    top = np.iinfo(dtype).max
    pixels = rng.integers(0, top, size=(157, 71, 3), dtype=dtype, endpoint=True)
    pixels[40:43] = top  # a few extreme rows, which set the minimum and maximum but not the percentiles
    options = dict(output_range=output_range, dtype=dtype, source_max=top)
    whole = render.filter_and_map(pixels, "laplacian", **options)
    for budget in (71 * 3 * 13 * 9, 1):  # strips of a few rows, then of one
        tiled = render.render_in_tiles(pixels, "laplacian", memory_budget=budget, **options)
        np.testing.assert_array_equal(tiled, whole)
    assert whole.std() > 0.1 * top


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
    for effect, output_range, dtype in [("canny", "binary", np.uint8), ("sobel", "abs", np.uint16)]:
        whole = render.render_file(source, tmp_path / f"whole_{output_range}.png", effect, output_range=output_range)
        tiled = render.render_file_in_tiles(
            source, tmp_path / f"tiled_{output_range}.png", effect, output_range=output_range, memory_budget=1
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
