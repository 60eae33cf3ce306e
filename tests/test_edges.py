"""Tests of convfx.edges: Canny, Marr-Hildreth and DoG, as functions, effects and commands.

Analytic images from ``np.mgrid`` say where an edge must be; scikit-image's Canny
on the bundled photos says how close to the reference the whole pipeline is.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLES
from PIL import Image
from typer.testing import CliRunner

import convfx
from convfx import banks, color, edges, effects, imageio, ranges, steps
from convfx.cli import app
from convfx.edges import bands as edge_bands
from convfx.edges import codes, engines, laplacian, loops, suppression, vectorised
from convfx.edges import inputs as edge_inputs

DTYPES = [np.float64, np.float32, np.uint8, np.uint16]


@pytest.fixture(params=["numpy", "compiled"])
def stages(request, monkeypatch):
    """Canny's per-pixel stages through one implementation: numpy's (vectorised) or numba's (loops)."""
    compiled = request.param == "compiled"
    monkeypatch.setattr(engines, "COMPILE_AFTER_PIXELS", 0 if compiled else float("inf"))
    return loops if compiled else vectorised


def scaled(mask: np.ndarray, dtype, contrast: float = 1.0) -> np.ndarray:
    """A 0/1 mask as an image of ``dtype`` whose step is ``contrast`` of full scale."""
    return np.round(mask * contrast * ranges.dtype_full_scale(dtype), 6).astype(dtype)


def step(direction: str, size: int = 40, at: int = 16) -> np.ndarray:
    """A step between rows/columns ``at - 1`` and ``at``, brighter towards ``direction``."""
    rows, cols = np.mgrid[0:size, 0:size]
    return {"right": cols >= at, "left": cols < at, "down": rows >= at, "up": rows < at}[direction]


def step_edge_line(direction: str, size: int = 40, at: int = 16) -> np.ndarray:
    """Where a detector must mark :func:`step`: the whole line ``at - 1``, one pixel wide.

    The two pixels across the step tie (magnitude, or ``|LoG|``); the up/left one wins.
    """
    expected = np.zeros((size, size), dtype=bool)
    expected[(slice(None), at - 1) if direction in ("right", "left") else (at - 1, slice(None))] = True
    return expected


def assert_one_line(error: pytest.ExceptionInfo, *words: str) -> None:
    message = str(error.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


# --------------------------------------------------------------------------- Canny on analytic images


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("direction", ["right", "left", "down", "up"])
@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 3.0])
def test_step_edge_is_one_pixel_exactly_where_expected(dtype, direction, sigma):
    found = convfx.canny(scaled(step(direction), dtype), sigma=sigma)
    np.testing.assert_array_equal(found, step_edge_line(direction))


def test_diagonal_edge_is_one_pixel_along_the_gradient():
    rows, cols = np.mgrid[0:48, 0:48]
    found = convfx.canny((rows + cols >= 48).astype(np.float64), sigma=1.5)
    inner = found[4:-4, 4:-4]
    # Along each line in the gradient direction (rows - cols constant) the edge is crossed once.
    for offset in range(-30, 31):
        assert np.diagonal(inner, offset).sum() == 1, offset
    assert not (found[:-1, :-1] & found[1:, :-1] & found[:-1, 1:] & found[1:, 1:]).any()  # no 2x2 block


def test_disk_gives_one_closed_contour():
    from scipy import ndimage

    rows, cols = np.mgrid[0:64, 0:64]
    disk = ((rows - 31.5) ** 2 + (cols - 31.5) ** 2 <= 20**2).astype(np.float32)
    found = convfx.canny(disk, sigma=2)
    _, count = ndimage.label(found, np.ones((3, 3)))
    assert count == 1
    _, regions = ndimage.label(~found)  # 4-connected background: inside and outside
    assert regions == 2
    radius = np.hypot(*(np.nonzero(found) - np.array([[31.5], [31.5]])))
    assert np.all(np.abs(radius - 20) <= 1.0)


def test_flat_image_has_no_edges():
    for dtype in DTYPES:
        flat = np.full((20, 30), 7, dtype=dtype)
        assert not convfx.canny(flat).any()
        # Quantiles of a flat magnitude are rounding noise, never edges.
        assert not convfx.canny(flat, quantile=True).any() and not convfx.canny(flat, low=0, high=0).any()
        assert not convfx.marr_hildreth(flat).any() and not convfx.marr_hildreth(flat, threshold=0).any()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_thresholds_are_fractions_of_full_scale(dtype):
    # Smoothed with sigma=1, a step's magnitude peaks at 2.56 x its contrast.
    assert convfx.canny(scaled(step("right"), dtype, 0.1)).any()  # 0.256 >= high 0.2
    assert not convfx.canny(scaled(step("right"), dtype, 0.06)).any()  # 0.154: weak only
    assert convfx.canny(scaled(step("right"), dtype, 0.06), low=0.05, high=0.15).any()
    # full_scale overrides the dtype's: this uint8 step is 0.2 of 51.
    assert convfx.canny(scaled(step("right"), np.uint8, 0.04), full_scale=51).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_a_magnitude_equal_to_a_threshold_reaches_it(dtype):
    # Without smoothing a step of 1/8 has Sobel magnitude 4/8, exactly, on both sides.
    image = (step("right") / 8).astype(dtype)
    assert convfx.canny_stages(image, sigma=0).magnitude.max() == 0.5
    np.testing.assert_array_equal(convfx.canny(image, sigma=0, low=0.5, high=0.5), step_edge_line("right"))
    above = float(np.nextafter(dtype(0.5), dtype(1)))
    assert not convfx.canny(image, sigma=0, low=0.4, high=above).any()  # not strong
    assert not convfx.canny(image, sigma=0, low=above, high=above).any()


def test_hysteresis_keeps_weak_pixels_connected_to_strong_ones():
    rows, cols = np.mgrid[0:60, 0:60]
    # A straight edge whose contrast grows slowly downwards (magnitude 2.56 x contrast:
    # 0.10 at the top, 0.26 at the bottom), and a separate edge that is weak all along.
    contrast = 0.04 + 0.06 * rows / 59
    image = contrast * (cols >= 20) + 0.06 * (cols >= 45)
    stages = convfx.canny_stages(image, sigma=1.0, low=0.12, high=0.2)
    first, second = (slice(None), slice(17, 23)), (slice(None), slice(42, 48))
    strong, weak, kept = (stages.strong[first].any(axis=1), stages.weak[first].any(axis=1), stages.edges[first].any(axis=1))
    assert strong[40:].all() and not strong[:35].any()
    assert weak[7:35].all() and not (weak | strong)[:7].any()  # below low at the top
    np.testing.assert_array_equal(kept, weak | strong)  # weak pixels kept through the strong end
    assert stages.weak[second].any(axis=1)[5:55].all() and not stages.edges[second].any()  # alone: dropped


def test_stages_are_consistent(photo):
    stages = convfx.canny_stages(photo, sigma=1.5)
    h, w = photo.shape[:2]
    for name in ("gx", "gy", "magnitude", "suppressed", "direction"):
        array = getattr(stages, name)
        assert array.shape == (h, w) and array.dtype == np.float32, name
    assert stages.smoothed.shape == (h, w)
    np.testing.assert_allclose(stages.magnitude, np.hypot(stages.gx, stages.gy), rtol=1e-5)
    np.testing.assert_allclose(stages.direction, np.arctan2(stages.gy, stages.gx))
    assert np.all((stages.suppressed == 0) | (stages.suppressed == stages.magnitude))
    assert not (stages.strong & stages.weak).any()
    assert not (stages.edges & ~(stages.strong | stages.weak)).any()
    assert not (stages.strong & ~stages.edges).any()
    assert (stages.low, stages.high) == edges.CANNY_THRESHOLDS
    np.testing.assert_array_equal(stages.edges, convfx.canny(photo, sigma=1.5))
    assert convfx.canny_stages(photo.astype(np.float64) / 255).magnitude.dtype == np.float64


def test_smoothing_and_gradients_are_the_bank_filters(gray_image):
    stages = convfx.canny_stages(gray_image, sigma=2)
    blurred = convfx.apply(gray_image, "gaussian_blur:sigma=2,size=17")  # 2*int(4*2 + 0.5) + 1
    np.testing.assert_allclose(stages.smoothed, blurred, atol=1e-12)
    np.testing.assert_allclose(stages.gx, convfx.apply(blurred, "sobel_x"), atol=1e-12)
    np.testing.assert_allclose(stages.gy, convfx.apply(blurred, "sobel_y"), atol=1e-12)
    np.testing.assert_array_equal(convfx.canny_stages(gray_image, sigma=0).smoothed, gray_image)


# --------------------------------------------------------------------------- quantiles, colour


def test_quantile_thresholds(photo):
    stages = convfx.canny_stages(photo, low=0.7, high=0.95, quantile=True)
    low, high = np.quantile(stages.magnitude, [0.7, 0.95])
    assert (stages.low, stages.high) == pytest.approx((low, high))
    np.testing.assert_array_equal(stages.edges, convfx.canny(photo, low=stages.low, high=stages.high))
    default = convfx.canny_stages(photo, quantile=True)
    assert (default.low, default.high) == pytest.approx(tuple(np.quantile(default.magnitude, edges.CANNY_QUANTILES)))
    # Higher quantiles keep fewer edges.
    assert convfx.canny(photo, low=0.9, high=0.99, quantile=True).sum() < stages.edges.sum()


def test_rgb_uses_the_luminance_by_default(photo, stages):
    np.testing.assert_array_equal(convfx.canny(photo), convfx.canny(color.to_luminance(photo), full_scale=255))
    np.testing.assert_array_equal(convfx.canny(photo[:, :, :1]), convfx.canny(photo[:, :, 0]))


def test_per_channel_finds_edges_between_colours_of_equal_brightness():
    # Red on the left, a green of the same luminance on the right.
    image = np.zeros((32, 32, 3))
    image[:, :16, 0] = 0.587
    image[:, 16:, 1] = 0.299
    assert not convfx.canny(image).any()
    found = convfx.canny(image, mode="per_channel")
    assert found[:, 15].all() and found.sum() == 32
    # On a gray picture every channel agrees with the luminance.
    gray = np.repeat(scaled(step("down"), np.uint8)[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(convfx.canny(gray, mode="per_channel"), convfx.canny(gray))


def test_per_channel_takes_the_strongest_channel(photo):
    stages = convfx.canny_stages(photo, mode="per_channel")
    per_channel = [convfx.canny_stages(photo[:, :, c], full_scale=255).magnitude for c in range(3)]
    np.testing.assert_allclose(stages.magnitude, np.max(per_channel, axis=0), rtol=1e-6)
    assert stages.smoothed.shape == photo.shape


# --------------------------------------------------------------------------- the fast path against plain loops


def reference_suppression(stages: edges.CannyStages, boundary: str, noise: float) -> np.ndarray:
    """Non-maximum suppression written pixel by pixel, as the docstring states it.

    Every pixel whose magnitude exceeds ``noise`` is compared with the magnitude
    one pixel away along the gradient on each side, interpolated between the
    axial neighbour (below/above when |gy| >= |gx|, else right/left) and the
    diagonal one next to it on the gradient's side, with weight
    min(|gx|, |gy|) / max(|gx|, |gy|) on the diagonal.  It stays if it is at
    least the forward value and above the backward one, each within the tie
    tolerance.  Arithmetic on numpy scalars of the magnitude's dtype.
    """
    magnitude, gx, gy = stages.magnitude, stages.gx, stages.gy
    padded = np.pad(magnitude, 1, mode=boundary)
    tie = edge_inputs.TIE_EPSILONS * np.finfo(magnitude.dtype).eps
    suppressed = np.zeros_like(magnitude)
    for row in range(magnitude.shape[0]):
        for col in range(magnitude.shape[1]):
            value, x, y = magnitude[row, col], gx[row, col], gy[row, col]
            if not value > noise:
                continue
            same_signs = (x > 0) == (y > 0)  # a gradient towards down-right or up-left
            if abs(y) >= abs(x):
                axial, diagonal = (1, 0), ((1, 1) if same_signs else (1, -1))
            else:
                axial, diagonal = (0, 1), ((1, 1) if same_signs else (-1, 1))
            weight = min(abs(x), abs(y)) / max(abs(x), abs(y))
            centre = np.array([row + 1, col + 1])
            forward = padded[tuple(centre + diagonal)] * weight + padded[tuple(centre + axial)] * (1 - weight)
            backward = padded[tuple(centre - diagonal)] * weight + padded[tuple(centre - axial)] * (1 - weight)
            if value >= forward * (1 - tie) and value > backward * (1 + tie):
                suppressed[row, col] = value
    return suppressed


def reference_hysteresis(candidates: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """Candidates reached from a strong pixel through 8-connected candidates: a flood fill."""
    height, width = candidates.shape
    kept = np.zeros_like(candidates)
    stack = [tuple(pixel) for pixel in np.argwhere(strong & candidates)]
    while stack:
        row, col = stack.pop()
        if kept[row, col]:
            continue
        kept[row, col] = True
        for d_row in (-1, 0, 1):
            for d_col in (-1, 0, 1):
                r, c = row + d_row, col + d_col
                if 0 <= r < height and 0 <= c < width and candidates[r, c] and not kept[r, c]:
                    stack.append((r, c))
    return kept


def random_canny_case(rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A small image with ties, flat parts or noise, and random Canny parameters."""
    height, width = (int(n) for n in rng.choice([1, 2, 3, 7, 16, 29], size=2))
    kind = rng.choice(["noise", "levels", "blocks"])
    if kind == "noise":
        image = rng.random((height, width))
    elif kind == "levels":  # a few grey levels: equal magnitudes everywhere
        image = rng.integers(0, 3, (height, width)) / 2
    else:  # flat blocks: symmetric steps and flat regions
        image = np.kron(rng.integers(0, 2, (height // 4 + 1, width // 4 + 1)), np.ones((4, 4)))[:height, :width]
    if rng.random() < 0.25:
        image = np.stack([image, image[::-1], image[:, ::-1]], axis=2)
    dtype = rng.choice(["uint8", "float32", "float64"])
    image = np.round(image * 255).astype(np.uint8) if dtype == "uint8" else image.astype(dtype)
    low, high = sorted(rng.choice([0.0, 0.02, 0.1, 0.3], size=2))
    parameters = {
        "sigma": float(rng.choice([0.0, 0.6, 1.0, 2.0])),
        "boundary": str(rng.choice(["reflect", "constant", "edge", "symmetric", "wrap"])),
        "mode": "per_channel" if image.ndim == 3 and rng.random() < 0.5 else "luminance",
    }
    if rng.random() < 0.2:
        parameters.update(quantile=True, low=float(rng.choice([0.5, 0.8])), high=0.9)
    else:
        parameters.update(low=float(low), high=float(high))
    return image, parameters


@pytest.mark.parametrize("bands", ["default", "tiny"])
def test_fast_path_matches_plain_loops(rng, monkeypatch, bands, stages):
    if bands == "tiny":  # a band per row or two, and threads even for small images
        monkeypatch.setattr(edge_bands, "BAND_PIXELS", 40)
        monkeypatch.setattr(edge_bands, "STRIP_PIXELS", 40)
        monkeypatch.setattr(edge_bands, "PARALLEL_MIN_PIXELS", 0)
    for _ in range(60):
        image, parameters = random_canny_case(rng)
        stages = convfx.canny_stages(image, **parameters)
        work = color.to_luminance(image) if parameters["mode"] == "luminance" else image
        work = work.astype(stages.magnitude.dtype) / ranges.dtype_full_scale(image.dtype)
        noise = edge_inputs.rounding(work.dtype, 8 * float(np.abs(work).max()))
        suppressed = reference_suppression(stages, parameters["boundary"], noise)
        np.testing.assert_array_equal(stages.suppressed, suppressed, err_msg=str(parameters))
        candidates = (suppressed >= stages.low) & (suppressed > noise)
        strong = candidates & (suppressed >= stages.high)
        np.testing.assert_array_equal(stages.strong, strong, err_msg=str(parameters))
        np.testing.assert_array_equal(stages.weak, candidates & ~strong, err_msg=str(parameters))
        expected = reference_hysteresis(candidates, strong)
        np.testing.assert_array_equal(stages.edges, expected, err_msg=str(parameters))
        np.testing.assert_array_equal(convfx.canny(image, **parameters), expected, err_msg=str(parameters))


def test_hysteresis_is_a_flood_fill_over_8_neighbours(rng, stages):
    for density, shape in [(0.2, (37, 41)), (0.45, (37, 41)), (0.6, (37, 41)), (0.65, (200, 150))]:
        # thin and diagonal links, and large blobs (one longer than the fill's first stack)
        candidates = rng.random(shape) < density
        strong = candidates & (rng.random(candidates.shape) < 0.05)
        state = np.where(strong, codes.STRONG, np.where(candidates, codes.WEAK, codes.NOT_EDGE))
        state = np.pad(state.astype(np.uint8), 1)
        seeds = stages.strong_pixels(state, 0, len(state))
        np.testing.assert_array_equal(seeds, np.flatnonzero(np.pad(strong, 1)))
        found = suppression.hysteresis(state, seeds, stages)
        expected = reference_hysteresis(candidates, strong)
        assert expected.any() and (candidates & ~expected).any()
        np.testing.assert_array_equal(found, expected)


def test_per_channel_picks_the_first_largest_channel_as_argmax_does(rng, stages):
    for channels in [1, 2, 3, 4]:
        values = rng.integers(0, 3, (9, 11, channels)).astype(np.float32)  # many ties
        values[rng.random(values.shape) < 0.1] = np.nan
        values[0, 0] = [np.nan] * channels
        expected = np.argmax(values, axis=2)
        np.testing.assert_array_equal(suppression._first_largest(np.moveaxis(values, 2, 0)), expected)
        gx, gy = rng.standard_normal((2, 9, 11, channels)).astype(np.float32)
        gx[np.isnan(values)] = np.nan
        with edge_bands.Bands(9, 11) as bands:
            padded, picked_x, picked_y = suppression.padded_magnitude(gx, gy, "reflect", bands, stages)
        squared = gx * gx + gy * gy
        strongest = np.argmax(squared, axis=2)[:, :, None]
        magnitude = np.sqrt(np.take_along_axis(squared, strongest, axis=2)[:, :, 0])
        assert padded[1:-1, 1:-1].tobytes() == magnitude.tobytes()
        for picked, gradient in [(picked_x, gx), (picked_y, gy)]:
            np.testing.assert_array_equal(picked, np.take_along_axis(gradient, strongest, axis=2)[:, :, 0])


@pytest.mark.parametrize("boundary", ["reflect", "constant", "edge", "symmetric", "wrap"])
def test_magnitude_frames_are_numpy_pad(rng, boundary, stages):
    for height, width in [(1, 1), (1, 5), (4, 1), (2, 2), (9, 6)]:
        gx, gy = (rng.standard_normal((height, width)).astype(np.float32) for _ in range(2))
        expected = np.pad(np.sqrt(gx * gx + gy * gy), 1, mode=boundary)
        with edge_bands.Bands(height, width) as bands:
            padded, _, _ = suppression.padded_magnitude(gx, gy, boundary, bands, stages)
        np.testing.assert_array_equal(padded, expected)
        # The rows the compiled strips compute one at a time (the image's and the frame's).
        code = codes.BOUNDARY_CODES.index(boundary)
        for row in range(-1, height + 1):
            out = np.full(width + 2, np.nan, dtype=np.float32)
            # Strips of wrap take their rows cyclically; the others ask which row numpy.pad copies.
            source = row % height if boundary == "wrap" else loops.local_row(row, 0, height, code)
            loops.magnitude_row(gx, gy, source, code, out)
            np.testing.assert_array_equal(out, expected[row + 1])


def test_same_bytes_whatever_the_bands_threads_and_alignment(monkeypatch, stages):
    rows, cols = np.mgrid[0:150, 0:230]
    noise = np.random.default_rng(5).normal(0, 20, (150, 230, 3))
    image = np.clip(noise + np.stack([rows, cols, rows + cols], axis=2) % 97 * 2.5, 0, 255).astype(np.uint8)
    for mode in ["luminance", "per_channel"]:
        expected = convfx.canny(image, mode=mode)
        assert expected.any() and not expected.all()
        stages = convfx.canny_stages(image, mode=mode)
        np.testing.assert_array_equal(stages.edges, expected)
        for offset in range(1, 4):  # the same pixels at another address
            moved = np.frombuffer(bytearray(image.nbytes + offset), np.uint8, image.size, offset).reshape(image.shape)
            moved[...] = image
            np.testing.assert_array_equal(convfx.canny(moved, mode=mode), expected)
        with monkeypatch.context() as patch:
            patch.setattr(edge_bands, "BAND_PIXELS", 700)
            patch.setattr(edge_bands, "STRIP_PIXELS", 1500)
            patch.setattr(edge_bands, "PARALLEL_MIN_PIXELS", 0)
            np.testing.assert_array_equal(convfx.canny(image, mode=mode), expected)
            again = convfx.canny_stages(image, mode=mode)
        for name in ("smoothed", "gx", "gy", "magnitude", "suppressed", "strong", "weak", "edges"):
            assert getattr(again, name).tobytes() == getattr(stages, name).tobytes(), name
        with monkeypatch.context() as patch:
            patch.setattr(edge_bands.cv2, "getNumThreads", lambda: 1)  # one thread, as in batch workers
            np.testing.assert_array_equal(convfx.canny(image, mode=mode), expected)


@pytest.mark.parametrize(
    "parameters",
    [{}, {"sigma": 2, "boundary": "wrap"}, {"boundary": "constant", "low": 0.02}, {"mode": "per_channel"}, {"quantile": True}],
    ids=["default", "wrap", "constant", "per_channel", "quantile"],
)
def test_numpy_and_compiled_stages_give_the_same_bytes(photo, monkeypatch, parameters):
    found = {}
    for after, name in [(float("inf"), "numpy"), (0, "compiled")]:
        monkeypatch.setattr(engines, "COMPILE_AFTER_PIXELS", after)
        stages = convfx.canny_stages(photo, **parameters)
        found[name] = [convfx.canny(photo, **parameters).tobytes(), convfx.canny(photo[:, :, 1], **parameters).tobytes()]
        found[name] += [getattr(stages, field).tobytes() for field in ("magnitude", "suppressed", "strong", "weak", "edges")]
    assert found["numpy"] == found["compiled"]


def test_a_process_switches_to_the_compiled_stages_after_enough_pixels(monkeypatch):
    monkeypatch.setattr(engines, "COMPILE_AFTER_PIXELS", 100)
    monkeypatch.setattr(engines, "_pixels_seen", 0)
    chosen = [engines.per_pixel_stages(pixels) for pixels in (60, 39, 1, 5)]
    assert chosen == [vectorised, vectorised, vectorised, loops]  # 0, 60, 99, then 100 pixels seen before each call


def test_compiled_luminance_is_to_luminance(rng):
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    out = np.empty((37, 53), dtype=np.float32)
    weights = np.asarray(color.LUMINANCE_WEIGHTS, dtype=np.float32)
    loops.luminance_rows(*np.moveaxis(rgb, 2, 0).copy(), weights, np.array([255.0], dtype=np.float32), out)
    assert out.tobytes() == np.divide(color.to_luminance(rgb), np.float32(255.0)).tobytes()


def test_canny_leaves_its_input_alone(rng):
    for image in [rng.random((40, 50)).astype(np.float32), rng.random((40, 50, 3)), rng.random((30, 20, 1))]:
        before = image.copy()
        convfx.canny(image, mode="per_channel")
        convfx.canny_stages(image)
        np.testing.assert_array_equal(image, before)


# --------------------------------------------------------------------------- bad parameters


@pytest.mark.parametrize(
    "parameters, name",
    [
        ({"sigma": -1}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"sigma": 40}, "sigma"),
        ({"low": -0.1}, "low"),
        ({"high": float("inf")}, "high"),
        ({"low": 0.3, "high": 0.2}, "low"),
        ({"low": 0.3}, "low"),  # above the default high, 0.2
        ({"low": 0.5, "high": 1.5, "quantile": True}, "high"),
        ({"mode": "hsv"}, "mode"),
        ({"boundary": "mirror"}, "boundary"),
        ({"full_scale": 0}, "full_scale"),
        ({"sigma": "2"}, "sigma"),
        ({"quantile": "yes"}, "quantile"),
    ],
)
def test_bad_parameters_name_the_parameter(photo, parameters, name):
    with pytest.raises(convfx.ConvfxError) as error:
        convfx.canny(photo, **parameters)
    assert_one_line(error, name)
    assert isinstance(error.value, (ValueError, TypeError))


@pytest.mark.parametrize(
    "image, words",
    [
        (np.zeros((4, 4, 4)), ["image", "per_channel"]),  # RGBA needs a choice
        (np.zeros((2, 3, 4, 5)), ["image", "(H, W)"]),
        (np.zeros((0, 3)), ["image"]),
        (np.array([["a"]]), ["image", "dtype"]),
    ],
)
def test_bad_images(image, words):
    with pytest.raises(convfx.ConvfxError) as error:
        convfx.canny(image)
    assert_one_line(error, *words)


# --------------------------------------------------------------------------- agreement with scikit-image

#: Largest fraction of pixels where convfx.canny and skimage.feature.canny may differ
#: on the bundled photos with the same sigma and thresholds; measured at most
#: 0.084 % overall and 0.025 % inside the one-pixel frame skimage never marks.
SKIMAGE_TOLERANCE = 0.002
SKIMAGE_INTERIOR_TOLERANCE = 0.0005


def sample_grays():
    for path in sorted(SAMPLES.glob("*.jpg")):
        pixels = imageio.read_image(path).pixels
        yield path.name, np.rint(color.to_luminance(pixels)).astype(np.uint8)


@pytest.mark.slow
@pytest.mark.parametrize("sigma, low, high, quantile", [(1.0, 0.1, 0.2, False), (2.0, 0.05, 0.1, False), (1.0, 0.8, 0.9, True)])
def test_agrees_with_skimage_on_the_samples(sigma, low, high, quantile):
    from skimage.feature import canny as skimage_canny

    for name, gray in sample_grays():
        image = gray / 255.0  # float: skimage reads thresholds as given (uint8: in 0-255 units)
        # skimage's mode="mirror" is numpy's (and convfx's) "reflect".
        reference = skimage_canny(
            image, sigma=sigma, low_threshold=low, high_threshold=high, use_quantiles=quantile, mode="mirror"
        )
        ours = convfx.canny(image, sigma=sigma, low=low, high=high, quantile=quantile)
        differ = ours != reference
        assert differ.mean() < SKIMAGE_TOLERANCE, (name, differ.mean())
        assert differ[1:-1, 1:-1].mean() < SKIMAGE_INTERIOR_TOLERANCE, (name, differ[1:-1, 1:-1].mean())
        # And on the uint8 picture itself, computed in float32.
        reference8 = skimage_canny(gray, sigma=sigma, low_threshold=low * (1 if quantile else 255),
                                   high_threshold=high * (1 if quantile else 255), use_quantiles=quantile,
                                   mode="mirror")  # fmt: skip
        assert (convfx.canny(gray, sigma=sigma, low=low, high=high, quantile=quantile) != reference8).mean() < SKIMAGE_TOLERANCE


# --------------------------------------------------------------------------- Marr-Hildreth and DoG


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("direction", ["right", "left", "down", "up"])
@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_marr_hildreth_step_edge(dtype, direction, sigma):
    found = convfx.marr_hildreth(scaled(step(direction), dtype), sigma=sigma)
    np.testing.assert_array_equal(found, step_edge_line(direction))


def test_marr_hildreth_threshold_removes_weak_crossings(rng):
    rows, cols = np.mgrid[0:64, 0:64]
    image = (cols >= 32) * 0.5 + rng.normal(0, 0.01, (64, 64))
    assert convfx.marr_hildreth(image, sigma=2, threshold=0).sum() > 10 * 64  # every noise ripple
    found = convfx.marr_hildreth(image, sigma=2, threshold=0.01)
    # One pixel per row, on whichever side of the step the noise puts the zero nearer.
    np.testing.assert_array_equal(found.sum(axis=1), 1)
    assert found[:, 31:33].sum() == 64
    assert not convfx.marr_hildreth(image, sigma=2, threshold=0.05).any()  # steeper than this step
    assert not convfx.marr_hildreth(np.full((16, 16), 0.3)).any()


def test_marr_hildreth_uses_the_bank_log_on_the_luminance(photo):
    np.testing.assert_array_equal(
        convfx.marr_hildreth(photo, sigma=1.5), convfx.marr_hildreth(color.to_luminance(photo), sigma=1.5, full_scale=255)
    )
    assert laplacian._marr_hildreth_kernels(sigma=1.5)[0].shape == (11, 11)  # the log factory: 2*ceil(3*1.5) + 1
    for parameters, name in [({"sigma": 0}, "sigma"), ({"threshold": -1}, "threshold")]:
        with pytest.raises(convfx.ParameterError) as error:
            convfx.marr_hildreth(photo, **parameters)
        assert_one_line(error, name)


def test_dog_is_the_bank_filter_rebuilt(gray_image, photo):
    expected = convfx.apply(gray_image, "gaussian_blur:sigma=1.5") - convfx.apply(gray_image, "gaussian_blur:sigma=2.4")
    np.testing.assert_allclose(convfx.dog(gray_image, sigma=1.5, k=1.6), expected, atol=1e-12)
    np.testing.assert_allclose(convfx.apply(gray_image, "dog:sigma=1.5,k=1.6"), expected, atol=1e-12)
    assert convfx.dog(photo).shape == photo.shape and convfx.dog(photo).dtype == np.float32
    np.testing.assert_allclose(convfx.dog(np.full((20, 20), 3.0)), 0, atol=1e-12)  # band-pass: no DC
    # The bank's default entry is unchanged, and rebuilt filters keep their two kernels.
    assert [k.name for k in convfx.get_filter("dog").kernels] == ["gaussian_blur_3", "gaussian_blur"]
    assert len(banks.with_parameters(convfx.get_filter("dog"), {"sigma": 2}).kernels) == 2
    for parameters, name in [({"k": 1.0}, "k"), ({"sigma": -1}, "sigma")]:
        with pytest.raises(convfx.ParameterError) as error:
            convfx.dog(gray_image, **parameters)
        assert_one_line(error, name)


# --------------------------------------------------------------------------- as effects


def test_detectors_are_effects(photo):
    expected = convfx.canny(photo, sigma=2, low=0.05)
    np.testing.assert_array_equal(convfx.apply(photo, "canny", sigma=2, low=0.05), expected)
    np.testing.assert_array_equal(convfx.apply(photo, "canny:sigma=2,low=0.05"), expected)
    np.testing.assert_array_equal(convfx.apply(photo, "canny:sigma=2", low=0.05), expected)
    np.testing.assert_array_equal(
        convfx.apply(photo, "canny:mode=per_channel,quantile=true,low=0.7"),
        convfx.canny(photo, mode="per_channel", quantile=True, low=0.7),
    )
    np.testing.assert_array_equal(convfx.apply(photo, "marr_hildreth:sigma=3"), convfx.marr_hildreth(photo, sigma=3))
    effect = effects.parse_effect("canny:sigma=2,low=0.05,mode=per_channel")
    assert effect.output_range == "binary" and not effect.gray
    assert effect.slug == "canny_sigma2_low0.05_modeper_channel"
    assert [k.name for k in effect.steps[0].kernels] == ["gaussian_blur", "sobel_x", "sobel_y"]


def test_chains_through_detectors(photo):
    blurred = convfx.apply(photo, "gaussian_blur")
    # Thresholds stay fractions of the chain's input (uint8: 255) after a float step.
    np.testing.assert_array_equal(convfx.apply(photo, "gaussian_blur,canny"), convfx.canny(blurred, full_scale=255))
    after = convfx.apply(photo, "canny,gaussian_blur")  # a detector's map feeds the next filter, edges white
    white_edges = np.where(convfx.canny(photo), np.float32(255), np.float32(0))
    np.testing.assert_allclose(after, convfx.apply(white_edges, "gaussian_blur"), rtol=1e-6)
    assert after.max() > 100  # in the photo's units, not 0..1
    assert effects.parse_effect("canny,gaussian_blur").output_range == "clip"


@pytest.mark.parametrize(
    "spec, keywords, error, words",
    [
        ("canny:sgma=2", {}, convfx.ParameterError, ["unknown parameter", "sgma", "sigma"]),
        ("canny:mode=hsv", {}, convfx.ParameterError, ["mode", "luminance"]),
        ("canny:quantile=maybe", {}, convfx.ParameterError, ["quantile", "true or false"]),
        ("canny:sigma=two", {}, convfx.ParameterError, ["sigma", "expected a number"]),
        ("canny:sigma=-1", {}, convfx.ParameterError, ["sigma"]),
        ("canny:low=0.5,high=0.1", {}, convfx.ParameterError, ["low", "at most high"]),
        ("canny:sigma=1", {"sigma": 2}, convfx.ParameterError, ["sigma", "given twice"]),
        ("gaussian_blur,canny", {"sigma": 2}, convfx.ParameterError, ["single named effect"]),
        ("canny", {"sigma": "2"}, convfx.ParameterTypeError, ["sigma", "number"]),
        ("gaussian_blur", {"sigma": True}, convfx.ParameterTypeError, ["sigma", "number"]),
        ("marr_hildreth:threshold=-2", {}, convfx.ParameterError, ["threshold"]),
    ],
)
def test_bad_detector_effects(photo, spec, keywords, error, words):
    with pytest.raises(error) as info:
        convfx.apply(photo, spec, **keywords)
    assert_one_line(info, *words)


def test_keyword_parameters_for_filters(gray_image):
    np.testing.assert_allclose(
        convfx.apply(gray_image, "gaussian_blur", sigma=2, size=9), convfx.apply(gray_image, "gaussian_blur:sigma=2,size=9")
    )


def test_binary_range_and_registry():
    np.testing.assert_array_equal(ranges.map_range(np.array([True, False]), "binary"), [255, 0])
    np.testing.assert_array_equal(ranges.map_range(np.array([-1.0, 0.0, 0.5]), "binary", dtype=np.uint16), [0, 0, 65535])
    assert [d.name for d in steps.list_detectors()] == ["canny", "marr_hildreth"]
    assert steps.list_detectors("blur") == []
    with pytest.raises(convfx.ParameterError, match="bank filter"):
        steps.register_detector(steps.get_detector("canny").__class__(
            name="sobel", description="", function=convfx.canny, options=()))  # fmt: skip


def test_render_file_writes_8_bit_0_255_even_from_16_bit(tmp_path, rng):
    image = scaled(step("right", 24), np.uint16)
    imageio.write_image(tmp_path / "in.png", np.dstack([image] * 3))
    out = imageio.read_image(convfx.render.render_file(tmp_path / "in.png", None, "canny"))
    assert out.pixels.dtype == np.uint8 and set(np.unique(out.pixels)) == {0, 255}
    assert (tmp_path / "in_canny.png").exists()


# --------------------------------------------------------------------------- command line

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_cli_apply_canny_writes_a_0_255_png(tmp_path, photo_png, photo):
    result = run("apply", "canny:sigma=2", photo_png)
    assert result.exit_code == 0, result.output
    written = tmp_path / "photo_canny_sigma2.png"
    with Image.open(written) as png:
        assert png.mode == "L"
    pixels = imageio.read_image(written).pixels
    assert pixels.dtype == np.uint8 and set(np.unique(pixels)) <= {0, 255}
    np.testing.assert_array_equal(pixels, np.where(convfx.canny(photo, sigma=2), 255, 0))


def test_cli_chain_and_errors(tmp_path, photo_png, photo):
    result = run("apply", "gaussian_blur,canny:low=0.05,high=0.1", photo_png, "-o", tmp_path / "c.png")
    assert result.exit_code == 0, result.output
    expected = convfx.apply(photo, "gaussian_blur,canny:low=0.05,high=0.1")
    np.testing.assert_array_equal(imageio.read_image(tmp_path / "c.png").pixels, np.where(expected, 255, 0))
    bad = run("apply", "canny:sigma=-2", photo_png, "-o", tmp_path / "bad.png")
    assert bad.exit_code == 2 and bad.stderr.strip().count("\n") == 0 and "sigma" in bad.stderr
    assert not (tmp_path / "bad.png").exists()


def test_cli_filters_and_show_list_the_detectors():
    listing = run("filters", "--family", "edges").stdout
    assert "canny" in listing and "marr_hildreth" in listing and "detector" in listing
    assert "canny" not in run("filters", "--family", "blur").stdout
    shown = run("show", "canny:sigma=2")
    assert shown.exit_code == 0 and "detector" in shown.stdout and "sigma    = 2" in shown.stdout
    assert "gaussian_blur 17x17" in shown.stdout


@pytest.mark.slow
def test_cli_explain_canny_writes_the_stages_figure(tmp_path):
    source = tmp_path / "cat.png"
    pixels = imageio.read_image(SAMPLES / "chelsea.jpg").pixels[::2, ::2]
    imageio.write_image(source, pixels)
    result = run("explain", "canny", source, "-o", tmp_path / "stages.png", "--sigma", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {tmp_path / 'stages.png'}"
    # Three panels of 3 inches and their keys across, in the photo's proportions, at 100 dpi.
    with Image.open(tmp_path / "stages.png") as png:
        width, height = png.size
        assert png.format == "PNG" and width >= 3 * 300 and 0.5 < height / width < 0.8
    # The default name, refusing to overwrite, and a bad option in one line.
    assert run("explain", "canny", source).exit_code == 0 and (tmp_path / "cat_canny_stages.png").exists()
    again = run("explain", "canny", source)
    assert again.exit_code == 1 and "already exists" in again.stderr
    bad = run("explain", "canny", source, "--low", "0.5", "--high", "0.2", "-f")
    assert bad.exit_code == 2 and bad.stderr.startswith("convfx: error: --low:") and bad.stderr.count("\n") == 1


def test_cli_explain_help_has_an_example():
    result = run("explain", "canny", "--help")
    assert result.exit_code == 0 and "Example" in result.stdout and "convfx explain canny" in result.stdout
    assert "canny" in run("explain", "--help").stdout


@pytest.mark.parametrize("output_range", ["abs", "clip", "signed", "normalize", "binary"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_edge_maps_are_white_under_every_output_range(output_range, dtype):
    """True is full scale, not 1: `--range clip` must not write a 0/1 image."""
    image = scaled(step("right"), dtype)
    depth = np.uint8 if output_range == "binary" else dtype
    pixels = convfx.render.filter_and_map(image, "canny", output_range=output_range, dtype=depth, source_max=np.iinfo(dtype).max)
    edges = convfx.canny(image)
    assert edges.any()
    top = np.iinfo(depth).max
    assert (pixels[edges] == top).all()
    background = {"signed": (top + 1) // 2}.get(output_range, 0)
    assert (pixels[~edges] == background).all()
