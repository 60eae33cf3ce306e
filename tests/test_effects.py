"""Tests of convfx.effects: OpenCV equalities, chains, the spec grammar, output ranges."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import convfx
from convfx import color
from convfx.banks import KernelFileError, UnknownFilterError
from convfx.effects import parse_effect
from convfx.ranges import map_range

# --------------------------------------------------------------------------- OpenCV equalities
# cv2's default border, BORDER_REFLECT_101, is convfx's default boundary "reflect".


def sobel(f, dx, dy):
    return cv2.Sobel(f, cv2.CV_64F, dx, dy, ksize=3)


OPENCV = {
    "sobel_x": lambda f: sobel(f, 1, 0),
    "sobel_y": lambda f: sobel(f, 0, 1),
    "sobel": lambda f: np.hypot(sobel(f, 1, 0), sobel(f, 0, 1)),
    "scharr_x": lambda f: cv2.Scharr(f, cv2.CV_64F, 1, 0),
    "scharr_y": lambda f: cv2.Scharr(f, cv2.CV_64F, 0, 1),
    "laplacian": lambda f: cv2.Laplacian(f, cv2.CV_64F, ksize=1),
    "gaussian_blur": lambda f: cv2.GaussianBlur(f, (5, 5), 0),
    "gaussian_blur_3": lambda f: cv2.GaussianBlur(f, (3, 3), 0),
    "gaussian_blur:sigma=2,size=9": lambda f: cv2.GaussianBlur(f, (9, 9), 2),
    "gaussian_blur:size=7": lambda f: cv2.GaussianBlur(f, (7, 7), 0),
    "gaussian_blur:size=9": lambda f: cv2.GaussianBlur(f, (9, 9), 0),  # a fixed row in OpenCV 5, a formula in 4
    "gaussian_blur:size=11": lambda f: cv2.GaussianBlur(f, (11, 11), 0),
    "gaussian_blur:sigma=1.5": lambda f: cv2.GaussianBlur(f, (11, 11), 1.5),  # size 2*ceil(3 sigma) + 1
    "box_blur": lambda f: cv2.blur(f, (3, 3)),
    "box_blur:size=7": lambda f: cv2.blur(f, (7, 7)),
    "sharpen": lambda f: cv2.filter2D(f, -1, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float)),
    "emboss": lambda f: cv2.filter2D(f, -1, np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], float)),
    "identity": lambda f: f,
}


@pytest.mark.parametrize("effect", sorted(OPENCV))
def test_equals_opencv_with_its_default_border(photo, effect):
    f = photo.astype(np.float64)
    np.testing.assert_allclose(convfx.apply(f, effect), OPENCV[effect](f), rtol=0, atol=1e-9)


def test_uint8_photo_gives_float32_without_clipping(photo):
    response = convfx.apply(photo, "sharpen")
    assert response.dtype == np.float32 and response.shape == photo.shape
    assert response.max() > 255 or response.min() < 0  # overshoot is kept, not clipped
    np.testing.assert_allclose(response, OPENCV["sharpen"](photo.astype(np.float64)), atol=1e-3)


def test_step_edge_lights_up_only_at_the_edge(step_edge):
    response = convfx.apply(step_edge, "sobel_x")
    np.testing.assert_array_equal(response[:, 15:17], 4.0)
    assert np.count_nonzero(response) == 2 * step_edge.shape[0]
    # With zero padding the image border becomes an edge too: why "reflect" is the default.
    assert np.abs(convfx.apply(step_edge, "sobel_x", boundary="constant")[:, -1]).min() > 0


def test_kirsch_dog_and_combines(gray_image):
    responses = [convfx.apply(gray_image, f"kirsch_{d}") for d in ("n", "ne", "e", "se", "s", "sw", "w", "nw")]
    np.testing.assert_allclose(convfx.apply(gray_image, "kirsch"), np.max(responses, axis=0))
    dog = convfx.apply(gray_image, "gaussian_blur_3") - convfx.apply(gray_image, "gaussian_blur")
    np.testing.assert_allclose(convfx.apply(gray_image, "dog"), dog)


def test_array_effect_is_a_correlation_kernel(gray_image, rng):
    kernel = rng.normal(size=(3, 5))
    np.testing.assert_allclose(convfx.apply(gray_image, kernel), convfx.correlate(gray_image, kernel, boundary="reflect"))


@pytest.mark.parametrize("boundary", ["constant", "edge", "symmetric", "wrap"])
def test_boundary_is_passed_to_the_engine(gray_image, boundary):
    expected = convfx.correlate(gray_image, convfx.get_filter("laplacian").kernels[0].weights, boundary=boundary)
    np.testing.assert_allclose(convfx.apply(gray_image, "laplacian", boundary=boundary), expected)


def test_bad_boundary_and_image():
    with pytest.raises(convfx.ParameterError, match="boundary"):
        convfx.apply(np.zeros((4, 4)), "sobel", boundary="mirror")
    with pytest.raises(convfx.ParameterTypeError, match="dtype"):
        convfx.apply(np.array([["a"]]), "sobel")


# --------------------------------------------------------------------------- chains and grammar


def test_chain_runs_left_to_right(gray_image):
    blurred = convfx.apply(gray_image, "gaussian_blur")
    np.testing.assert_allclose(convfx.apply(gray_image, "gaussian_blur,sobel"), convfx.apply(blurred, "sobel"))
    # The magnitude is not linear, so order matters.
    assert not np.allclose(convfx.apply(gray_image, "sobel,gaussian_blur"), convfx.apply(gray_image, "gaussian_blur,sobel"))


def test_parameters_and_chain_share_commas():
    effect = parse_effect("gaussian_blur:sigma=2,size=9,sobel,motion_blur:length=5,angle=45")
    assert [s.name for s in effect.steps] == ["gaussian_blur", "sobel", "motion_blur"]
    assert dict(effect.steps[0].parameters) == {"sigma": 2.0, "size": 9.0}
    assert effect.steps[0].size == (9, 9) and effect.steps[2].parameters["angle"] == 45
    assert effect.slug == "gaussian_blur_sigma2_size9-sobel-motion_blur_length5_angle45"
    assert effect.output_range == "clip"  # the last step's


@pytest.mark.parametrize(
    "spec, error, match",
    [
        ("", convfx.ParameterError, "empty string"),
        ("sobel,,laplacian", convfx.ParameterError, "empty step"),
        ("cany:sigma=2", UnknownFilterError, "unknown filter 'cany'; closest: canny"),
        ("SOBEL", UnknownFilterError, "unknown filter 'SOBEL'; closest: sobel,"),  # case does not hide the match
        ("canny_", UnknownFilterError, "unknown filter 'canny_'; closest: canny "),
        ("gaussian_blur:sigma=1000", convfx.ParameterError, r"sigma: 1000 needs a 6001x6001 kernel .*sigma <= 42.3"),
        ("gaussian_blur:sigma=2,radius=3", convfx.ParameterError, "unknown parameter"),
        ("gaussian_blur:sigma=two", convfx.ParameterError, "parameter sigma: expected a number, found 'two'"),
        ("gaussian_blur:sigma=1,sigma=2", convfx.ParameterError, "given twice"),
        ("gaussian_blur:sigma=inf", convfx.ParameterError, "expected a number, found 'inf'"),
        ("gaussian_blur:sigma=1e999", convfx.ParameterError, "finite"),
        ("sobel:sigma=1", convfx.ParameterError, "takes no parameters"),
        ("sobel,3x3: 1,1,1,1,1,1,1,1,1", convfx.ParameterError, "ImageMagick kernel must be the whole effect"),
        ("missing.toml", KernelFileError, "kernel file not found"),
        ("some/dir/k", KernelFileError, "kernel file not found"),
    ],
)
def test_bad_specs(spec, error, match):
    with pytest.raises(error, match=match) as info:
        parse_effect(spec)
    assert "\n" not in str(info.value)


def test_spaces_around_keys_values_and_steps_are_ignored():
    effect = parse_effect("  gaussian_blur : sigma = 2 ,  size=9 , sobel ")
    assert [s.name for s in effect.steps] == ["gaussian_blur", "sobel"]
    assert dict(effect.steps[0].parameters) == {"sigma": 2.0, "size": 9.0}
    assert parse_effect("canny: mode = per_channel , low = 0.05").steps[0].settings["mode"] == "per_channel"


def test_a_spec_longer_than_the_limit_is_refused_before_parsing():
    from convfx.limits import MAX_EFFECT_SPEC_CHARS

    parse_effect("sobel" + " " * (MAX_EFFECT_SPEC_CHARS - 5))  # at the limit: parsed
    with pytest.raises(convfx.ParameterError) as info:
        parse_effect("sobel:x=a" + " " * MAX_EFFECT_SPEC_CHARS + "b")
    message = str(info.value)
    assert message.startswith("effect: expected at most 4,096 characters") and "'sobel:x=a " in message
    assert len(message) < 200 and "(4,106 characters)" in message


@pytest.mark.parametrize("spec", ["sobel:x=a{}b", "gaussian_blur:sigma=1,size={}x", "{}:{}", "sobel{},x"])
def test_parsing_takes_linear_time_and_messages_quote_a_little(monkeypatch, spec):
    """200,000 spaces where a backtracking pattern would split them every way (minutes); quoted in 60 characters."""
    import time

    from convfx import effects

    monkeypatch.setattr(effects, "MAX_EFFECT_SPEC_CHARS", 10**6)
    started = time.monotonic()
    with pytest.raises(convfx.ConvfxError) as info:
        parse_effect(spec.replace("{}", " " * 200_000))
    assert time.monotonic() - started < 2
    assert len(str(info.value)) < 300


def test_kernel_files_and_imagemagick_in_specs(tmp_path, gray_image):
    np.save(tmp_path / "lap.npy", convfx.get_filter("laplacian").kernels[0].weights)
    expected = convfx.apply(gray_image, "laplacian")
    np.testing.assert_allclose(convfx.apply(gray_image, str(tmp_path / "lap.npy")), expected)
    np.testing.assert_allclose(convfx.apply(gray_image, tmp_path / "lap.npy"), expected)
    np.testing.assert_allclose(
        convfx.apply(gray_image, f"gaussian_blur,{tmp_path / 'lap.npy'}"), convfx.apply(gray_image, "gaussian_blur,laplacian")
    )
    (tmp_path / "b.toml").write_text("[a]\nmatrix = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]\n[b]\nmatrix = [[2]]\n")
    np.testing.assert_allclose(convfx.apply(gray_image, f"{tmp_path / 'b.toml'}#a"), expected)
    # A file entry anywhere in a chain, first and last included.
    bank = tmp_path / "b.toml"
    np.testing.assert_allclose(
        convfx.apply(gray_image, f"{bank}#a,gaussian_blur"), convfx.apply(gray_image, "laplacian,gaussian_blur")
    )
    assert [step.name for step in parse_effect(f"{bank}#a,{bank}#b").steps] == ["a", "b"]
    # A file whose name has a comma is still one file.
    (tmp_path / "x,y.npy").write_bytes((tmp_path / "lap.npy").read_bytes())
    np.testing.assert_allclose(convfx.apply(gray_image, str(tmp_path / "x,y.npy")), expected)
    np.testing.assert_allclose(convfx.apply(gray_image, "3x3: 0,1,0 1,-4,1 0,1,0"), expected)
    # An ImageMagick kernel is a convolution: equals convfx.convolve with its values.
    values = np.array([[1, 2, 0], [0, 0, 0], [0, 0, -3.0]])
    np.testing.assert_allclose(
        convfx.apply(gray_image, "3x3: 1,2,0 0,0,0 0,0,-3"), convfx.convolve(gray_image, values, boundary="reflect")
    )


def test_parse_effect_accepts_objects():
    effect = parse_effect("sobel")
    assert parse_effect(effect) is effect
    assert parse_effect(convfx.get_filter("sobel")).steps[0].name == "sobel"
    with pytest.raises(convfx.ParameterTypeError):
        parse_effect(3.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- gray


def test_luminance_matches_opencv(photo):
    expected = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    # OpenCV rounds with 14-bit fixed-point weights, hence a hair over 0.5.
    assert np.abs(color.to_luminance(photo) - expected).max() <= 0.51


def test_gray_option_and_filter_default(photo):
    assert convfx.apply(photo, "sobel", gray=True).shape == photo.shape[:2]
    assert convfx.apply(photo, "relief").shape == photo.shape[:2]  # relief asks for gray
    assert convfx.apply(photo, "relief", gray=False).shape == photo.shape
    with pytest.raises(convfx.ParameterError, match="gray"):
        convfx.apply(np.zeros((4, 4, 4)), "sobel", gray=True)


# --------------------------------------------------------------------------- output ranges


def test_range_policies_never_wrap():
    r = np.array([-70000.0, -300.0, -10.0, 0.0, 10.0, 300.0, 70000.0])
    np.testing.assert_array_equal(map_range(r, "abs"), [255, 255, 10, 0, 10, 255, 255])
    np.testing.assert_array_equal(map_range(r, "clip"), [0, 0, 0, 0, 10, 255, 255])
    np.testing.assert_array_equal(map_range(r, "signed"), [0, 0, 123, 128, 133, 255, 255])
    np.testing.assert_array_equal(map_range(r, "minmax")[[0, 3, -1]], [0, 128, 255])
    # Of 7 values, the 0.5th percentile (rank floor(0.005 * 6) = 0) is the minimum.
    np.testing.assert_array_equal(map_range(r, "normalize"), map_range(r, "minmax"))
    np.testing.assert_array_equal(map_range(r, "clip", dtype=np.uint16), [0, 0, 0, 0, 10, 300, 65535])
    assert map_range(r, "signed", dtype=np.uint16)[3] == 32768


def test_range_rescales_from_the_source_depth():
    # A 16-bit response written as 8 bits: 65535 -> 255, 257 -> 1.
    np.testing.assert_array_equal(map_range(np.array([257.0, 65535.0]), "clip", source_max=65535), [1, 255])
    np.testing.assert_array_equal(map_range(np.array([1.0, 255.0]), "clip", dtype=np.uint16, source_max=255), [257, 65535])


@pytest.mark.parametrize("stretch", ["normalize", "minmax"])
def test_a_flat_or_empty_response_stretches_to_black(stretch):
    np.testing.assert_array_equal(map_range(np.full((3, 3), 7.0), stretch), 0)
    np.testing.assert_array_equal(map_range(np.full((3, 3), np.nan), stretch), 0)
    assert map_range(np.zeros((0, 3)), stretch).shape == (0, 3)


def float32_percentiles(values: np.ndarray) -> tuple[float, float]:
    """numpy's own 0.5th ('lower') and 99.5th ('higher') percentiles of the values as float32, NaN left out."""
    finite = values.astype(np.float32).ravel()
    finite = finite[~np.isnan(finite)]
    return float(np.percentile(finite, 0.5, method="lower")), float(np.percentile(finite, 99.5, method="higher"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_stretches_between_the_percentiles_whatever_the_pieces(rng, dtype):
    from convfx.ranges import stretch_limits

    values = (rng.standard_normal((97, 61, 3)) * 40).astype(dtype)
    flat = values.reshape(-1)
    flat[:40] = [1e6, -1e6, np.inf, -np.inf, np.nan, -0.0, 0.0, 1e-40, -1e-40] + [5e5] * 31  # extremes and oddities
    expected = float32_percentiles(values)
    assert stretch_limits(lambda: [values]) == expected
    cuts = sorted(rng.choice(np.arange(1, 97), size=9, replace=False))
    pieces = np.split(values, cuts)  # strips of uneven heights, one of them possibly empty
    assert stretch_limits(lambda: iter(pieces)) == expected
    assert stretch_limits(lambda: [values], "minmax") == (-np.inf, np.inf)
    finite = values[np.isfinite(values)]
    assert stretch_limits(lambda: [finite], "minmax") == (float(finite.min()), float(finite.max()))
    low, high = expected
    scale = np.float64(255) / (high - low)
    mapped = map_range(values, "normalize")
    reference = np.clip(np.rint(np.nan_to_num((values - dtype(low)) * dtype(scale), nan=0.0, posinf=255, neginf=0)), 0, 255)
    np.testing.assert_array_equal(mapped, reference)
    np.testing.assert_array_equal(map_range(values[:50], "normalize", limits=expected), mapped[:50])


def test_normalize_falls_back_to_the_extremes_when_the_percentiles_meet():
    """A response that is 0 nearly everywhere (an edge map): its few edges stay white."""
    response = np.zeros((100, 100), np.float32)
    response[50, :20] = 3.0  # 0.2 %: both percentiles are 0
    pixels = map_range(response, "normalize")
    assert pixels.max() == 255 and (pixels[50, :20] == 255).all() and pixels.sum() == 20 * 255


@pytest.mark.parametrize("effect", ["laplacian", "dog", "log"])
@pytest.mark.parametrize("sample", ["chelsea.jpg", "camera.png", "coffee.jpg", "moon"])
def test_normalize_makes_weak_responses_visible_on_the_samples(effect, sample):
    """Measured contrast: minmax leaves 6-13 grey levels of spread; normalize gives 24-35."""
    from conftest import SAMPLES

    if sample == "moon":
        import skimage.data

        pixels = skimage.data.moon()
    else:
        pixels = convfx.read_image(SAMPLES / sample).pixels
    response = convfx.apply(pixels, effect)
    stretched, extremes = map_range(response, "normalize"), map_range(response, "minmax")
    assert stretched.std() >= 20, f"{stretched.std():.1f} grey levels"
    assert stretched.std() >= 2 * extremes.std()


def test_bad_range_arguments():
    with pytest.raises(convfx.ParameterError, match="output_range"):
        map_range(np.zeros(3), "wrap")
    with pytest.raises(convfx.ParameterError, match="dtype"):
        map_range(np.zeros(3), "clip", dtype=np.int8)


@pytest.mark.parametrize(
    "name, policy", [("sobel", "abs"), ("laplacian", "abs"), ("gaussian_blur", "clip"), ("sharpen", "clip"),
                     ("relief", "signed"), ("dog", "normalize"), ("emboss", "clip")]
)  # fmt: skip
def test_default_policies(name, policy):
    assert parse_effect(name).output_range == policy


def test_bad_array_effects(gray_image):
    with pytest.raises(KernelFileError, match="dtype complex"):
        convfx.apply(gray_image, np.ones((3, 3), complex))
    with pytest.raises(KernelFileError, match="finite"):
        convfx.apply(gray_image, np.array([[np.nan]]))
    with pytest.raises(KernelFileError, match="2-D"):
        convfx.apply(gray_image, np.ones(3))


SPECIAL_VALUES = {
    "all": [0.5, 1.5, 2.5, -2.5, 254.5, 255.5, -300, np.inf, -np.inf, np.nan, 1e30, -0.5],
    "huge, no NaN": [2.0**31, -(2.0**31), 3e9, -1e30, 2.5, -2.5],
    "inf only": [np.inf],
    "-inf only": [-np.inf],
    "NaN only": [np.nan],
    "just below 2**31": [2.0**31 - 128, -(2.0**31 - 128)],
    "none": [],
}


@pytest.mark.parametrize("special", SPECIAL_VALUES, ids=str)
@pytest.mark.parametrize("shape", [(7, 9), (7, 9, 1), (7, 9, 3), (7, 9, 4), (7, 9, 6)])
def test_map_range_abs_fast_path_equals_the_general_path(shape, special):
    """float32 -> uint8 'abs' goes through OpenCV; float64 takes the numpy passes."""
    rng = np.random.default_rng(5)
    response = (rng.standard_normal(shape) * 200).astype(np.float32)
    flat = response.reshape(-1)
    values = SPECIAL_VALUES[special]
    flat[: len(values)] = values
    fast = map_range(response, "abs")
    general = map_range(response.astype(np.float64), "abs")
    assert fast.dtype == np.uint8 and fast.shape == response.shape
    np.testing.assert_array_equal(fast, general)


# --------------------------------------------------------------------------- gradient magnitudes


def misaligned_copy(array: np.ndarray, offset: int) -> np.ndarray:
    """A C-contiguous copy of ``array`` whose data starts ``offset`` items past an allocation's start."""
    buffer = np.empty(array.size + 16, dtype=array.dtype)
    view = buffer[offset : offset + array.size].reshape(array.shape)
    view[...] = array
    return view


def random_floats(shape, dtype, seed) -> np.ndarray:
    """Every finite bit pattern is equally likely: tiny, huge, subnormal, negative zero."""
    rng = np.random.default_rng(seed)
    unsigned = np.uint32 if dtype == np.float32 else np.uint64
    bits = rng.integers(0, np.iinfo(unsigned).max, size=shape, dtype=unsigned, endpoint=True)
    values = bits.view(dtype)
    values[~np.isfinite(values)] = 1.5
    return values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("count", [2, 3])
def test_magnitude_is_ieee_arithmetic_at_every_alignment(dtype, count):
    """sqrt(r0*r0 + r1*r1 + ...), each operation rounded once, whatever the buffers' addresses."""
    from convfx.effects import magnitude

    shape = (37, 53, 3)
    # Photo-like values (where the squares stay finite) and arbitrary bit patterns.
    responses = [np.random.default_rng(i).normal(0, 3000, shape).astype(dtype) for i in range(count)]
    patterns = [random_floats(shape, dtype, seed=10 + i) for i in range(count)]
    for inputs in (responses, patterns):
        with np.errstate(over="ignore"):
            expected = inputs[0] * inputs[0]
            for response in inputs[1:]:
                expected = expected + response * response
            expected = np.sqrt(expected)
        results = set()
        for offset in range(8):
            copies = [misaligned_copy(inputs[i], (offset + 3 * i) % 8) for i in range(count)]
            result = magnitude(copies)
            assert result.dtype == dtype and result.shape == shape
            np.testing.assert_array_equal(result, expected)
            results.add(result.tobytes())
        assert len(results) == 1


def test_magnitude_of_many_channels_and_of_non_contiguous_responses():
    from convfx.effects import magnitude

    gx = np.random.default_rng(0).normal(0, 100, (20, 30, 7)).astype(np.float32)
    gy = np.random.default_rng(1).normal(0, 100, (30, 20, 7)).astype(np.float32).transpose(1, 0, 2)
    expected = np.sqrt(gx * gx + gy * gy)
    np.testing.assert_array_equal(magnitude([gx.copy(), gy]), expected)


@pytest.mark.parametrize("name", ["sobel", "scharr", "prewitt", "roberts", "farid"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_gradient_magnitudes_repeat_bit_for_bit_and_match_their_pair(name, dtype):
    """The same photo gives the same bits on every call, equal to sqrt(x^2 + y^2) of the _x/_y pair."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, np.iinfo(dtype).max, (61, 83, 3), dtype=dtype, endpoint=True)
    kept = [convfx.apply(misaligned_copy(image, offset), name) for offset in range(8)]
    assert len({response.tobytes() for response in kept}) == 1
    pair = [convfx.apply(image, kernel.weights) for kernel in convfx.get_filter(name).kernels]
    np.testing.assert_array_equal(kept[0], np.sqrt(pair[0] * pair[0] + pair[1] * pair[1]))


def test_luminance_is_computed_in_the_compute_dtype_whatever_the_byte_order(rng):
    rgb = rng.random((5, 6, 3))
    for image in (rgb, rgb.astype(">f8")):
        found = color.to_luminance(image)
        assert found.dtype == np.float64
        expected = (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587) + rgb[:, :, 2] * 0.114  # step by step, float64
        assert found.tobytes() == expected.tobytes()
    assert color.to_luminance(rgb.astype(">f4")).dtype == np.float32
