"""Tests of :mod:`convfx.render`: one file from disk to disk, and strip-by-strip rendering.

Every output is checked against the in-memory pipeline, ``map_range(apply(pixels))``,
on the same pixels: the file path and the strips add no maths of their own.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from PIL import Image

import convfx
from convfx import banks, effects, imageio, ranges, render, steps
from convfx.conv import BOUNDARIES, windowed
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
        expected = [
            f"{tmp_path / f'out{suffix}'}: {imageio.WRITE_FORMATS[suffix]} has no alpha channel; the input's transparency was dropped"
        ]
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


# --------------------------------------------------------------------------- the memory budget of one file

#: Every filter and detector convfx ships, by name.
SHIPPED = sorted(banks.builtin_filters()) + [detector.name for detector in steps.list_detectors()]


@pytest.fixture(scope="module")
def small_photo() -> np.ndarray:
    """A (23, 19, 3) uint8 image: small enough to filter 240 times, odd sizes."""
    rows, cols = np.mgrid[0:23, 0:19]
    base = np.stack([rows * 9, cols * 11, (rows * cols) % 256], axis=-1).astype(np.float64)
    noise = np.random.default_rng(11).normal(0, 25, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("name", SHIPPED)
def test_strips_are_byte_identical_to_the_whole_image_for_every_shipped_filter(small_photo, name, boundary):
    parsed = effects.parse_effect(name)
    whole = ranges.map_range(effects.apply(small_photo, parsed, boundary=boundary), parsed.output_range)
    # A budget of 1 byte: one row per strip plus the halo, the most strips there can be.
    tiled = render.render_in_tiles(small_photo, parsed, boundary=boundary, memory_budget=1)
    assert tiled.dtype == whole.dtype
    np.testing.assert_array_equal(tiled, whole)


def test_render_file_with_a_tiny_budget_writes_the_same_bytes(tmp_path, photo_png):
    for effect in ("sobel", "gaussian_blur:sigma=2,laplacian", "kirsch"):
        whole = render_file(photo_png, tmp_path / "whole.png", effect, render=render.filter_and_map, overwrite=True)
        tiled = render_file(photo_png, tmp_path / "tiled.png", effect, memory_budget=1, overwrite=True)
        assert tiled.read_bytes() == whole.read_bytes()


def test_render_file_checks_the_budget_before_reading(tmp_path, photo_png):
    with pytest.raises(convfx.ParameterError, match="memory_budget: expected a number of bytes >= 1, found 0"):
        render_file(photo_png, tmp_path / "o.png", "sobel", memory_budget=0)
    with pytest.raises(convfx.ParameterTypeError, match="memory_budget"):
        render_file(photo_png, tmp_path / "o.png", "sobel", memory_budget="512MB")
    assert sorted(os.listdir(tmp_path)) == ["photo.png"]


def test_windowed_says_which_kernels_are_summed_window_by_window(rng):
    gaussian = np.outer(*[np.exp(-(np.linspace(-3, 3, 31) ** 2) / 2)] * 2)
    assert windowed(np.ones((3, 3)))  # filter2D, below its DFT size
    assert windowed(gaussian)  # two 1-D passes, whatever the size
    assert not windowed(rng.standard_normal((9, 9)))  # filter2D through a DFT
    assert not windowed(rng.standard_normal((101, 101)))  # FFT
    with pytest.raises(convfx.ParameterError, match=r"kernel: expected shape \(kh, kw\)"):
        windowed(np.ones((3, 3, 3)))


def test_windowed_effects_go_in_strips_even_when_they_fit(monkeypatch, small_photo):
    calls = []
    real_apply = effects.apply

    def counting_apply(*args, **kwargs):
        calls.append(args[0].shape[0])
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(effects, "apply", counting_apply)
    monkeypatch.setattr(render, "_FAST_STRIP_RESPONSE_BYTES", 19 * 3 * 4 * 5)  # 5 rows of float32
    monkeypatch.setattr(render, "_FAST_STRIP_HALOS", 1)
    for effect, policy, strips in [
        ("sobel", None, 5),  # 23 rows: 5 strips of 5 rows
        (np.random.default_rng(0).standard_normal((9, 9)), "abs", 1),  # a DFT inside filter2D: whole
        ("sobel", "normalize", 1),  # strips would filter twice: whole
        ("canny", None, None),  # not local (and its stages call apply themselves)
    ]:
        calls.clear()
        whole = ranges.map_range(real_apply(small_photo, effect), policy or effects.parse_effect(effect).output_range)
        got = render.render_in_tiles(small_photo, effect, output_range=policy)
        np.testing.assert_array_equal(got, whole)
        if strips is None:
            assert set(calls) == {23}  # every call sees the whole image
        else:
            assert len(calls) == strips


# Runs ``python -m convfx ARGS...`` and writes its peak resident memory (VmHWM, kB)
# to the file named first: the child's own, which ru_maxrss is not (it also counts
# the parent's memory at the fork, and the parent here is a large pytest process).
PEAK_OF_CONVFX = """
import atexit, runpy, sys

peak_file = sys.argv[1]


def report():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(peak_file, "w") as out:
        out.write(peak)


atexit.register(report)
sys.argv = ["convfx", *sys.argv[2:]]
runpy.run_module("convfx", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak memory from /proc")
def test_apply_peak_memory_stays_within_image_output_and_budget(tmp_path):
    """A whole process: the peak RSS beyond the interpreter's is about the image, its output and the budget.

    The whole-image response of kirsch (8 float32 maps and their maximum) would be
    over 40 times the decoded image; with a budget of 8 MB it is filtered in strips.
    The codecs' buffers and what the C allocator keeps after freeing are allowed
    a few megabytes on top.
    """
    height, width = 1500, 2000
    rows, cols = np.mgrid[0:height, 0:width]
    pixels = np.stack([rows % 251, cols % 241, (rows + cols) % 239], axis=-1).astype(np.uint8)
    source = tmp_path / "big.jpg"
    imageio.write_image(source, pixels)
    decoded = output = pixels.nbytes
    budget = 8_000_000

    def peak(*argv: str) -> int:
        peak_file = tmp_path / "peak.txt"
        done = subprocess.run([sys.executable, "-c", PEAK_OF_CONVFX, str(peak_file), *argv], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return int(peak_file.read_text()) * 1024

    # The interpreter with everything apply imports and runs, on a tiny image.
    tiny = tmp_path / "tiny.jpg"
    imageio.write_image(tiny, pixels[:16, :16])
    baseline = peak("apply", "kirsch", str(tiny), "-o", str(tmp_path / "tiny.png"))
    used = peak("apply", "kirsch", str(source), "-o", str(tmp_path / "out.png"), "--memory-budget", str(budget))
    allowance = 8 * 2**20
    assert used - baseline <= decoded + output + budget + allowance
    whole = effects.apply(pixels, "kirsch")  # what the budget keeps out: 8 float32 responses at a time
    assert whole.nbytes * 8 > 4 * (decoded + output + budget)
