"""Tests of convfx.banks: the shipped banks, user kernel files, ImageMagick strings."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import convfx
from convfx import banks, kernels, ranges
from convfx.banks import KernelFileError, UnknownFilterError

REQUIRED = [
    "identity", "sobel_x", "sobel_y", "sobel", "scharr_x", "scharr_y", "scharr", "prewitt_x", "prewitt_y",
    "prewitt", "roberts", "laplacian", "laplacian8", "log", "box_blur", "gaussian_blur", "sharpen", "unsharp",
    "emboss", "outline",
]  # fmt: skip


# --------------------------------------------------------------------------- shipped banks


def test_every_required_filter_is_shipped():
    names = {f.name for f in convfx.list_filters()}
    assert set(REQUIRED) <= names
    assert {"kirsch", "farid", "motion_blur", "dog"} <= names  # the extras


def test_list_filters_is_sorted_and_by_family():
    filters = convfx.list_filters()
    assert [(f.family, f.name) for f in filters] == sorted((f.family, f.name) for f in filters)
    assert {f.family for f in filters} == {"basic", "blur", "edges", "sharpen", "stylize"}
    assert all(f.family == "blur" for f in convfx.list_filters("blur"))
    with pytest.raises(convfx.ParameterError, match="family"):
        convfx.list_filters("nope")


@pytest.mark.parametrize("item", banks.list_filters(), ids=lambda f: f.name)
def test_shipped_filter_is_well_formed(item):
    assert item.description and len(item.description) < 120 and "\n" not in item.description
    assert item.output_range in ranges.OUTPUT_RANGES
    for kernel in item.kernels:
        weights = kernel.weights
        assert weights.ndim == 2 and np.all(np.isfinite(weights)) and not weights.flags.writeable
    total = sum(float(k.weights.sum()) for k in item.kernels[:1])
    if item.family in ("blur", "sharpen", "basic"):
        assert total == pytest.approx(1.0)  # flat areas keep their value
    elif item.combine is None and item.output_range == "abs":
        assert total == pytest.approx(0.0, abs=1e-12)  # derivatives: zero on flat areas


@pytest.mark.parametrize(
    "name, weights",
    [
        ("sobel_x", [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        ("sobel_y", [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
        ("scharr_x", [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]),
        ("laplacian", [[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        ("sharpen", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        ("identity", [[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        ("gaussian_blur_3", np.outer([1, 2, 1], [1, 2, 1]) / 16),
    ],
)
def test_kernels_touch_the_pixels_as_opencv_writes_them(name, weights):
    np.testing.assert_array_equal(convfx.get_filter(name).kernels[0].weights, weights)


def test_convolution_entries_are_applied_rotated():
    kernel = convfx.get_filter("farid_x").kernels[0]
    assert kernel.operation == "convolve"
    np.testing.assert_array_equal(kernel.weights, (kernel.values * kernel.scale)[::-1, ::-1])
    assert kernel.weights[2, 4] > 0  # brighter to the right -> positive, like sobel_x


def test_combined_filters_reference_their_inputs():
    sobel = convfx.get_filter("sobel")
    assert sobel.combine == "magnitude"
    assert [k.name for k in sobel.kernels] == ["sobel_x", "sobel_y"]
    assert len(convfx.get_filter("kirsch").kernels) == 8


def test_unknown_filter_lists_closest_names():
    with pytest.raises(UnknownFilterError, match="closest: sobel") as info:
        convfx.get_filter("sobl")
    assert isinstance(info.value, ValueError) and info.value.exit_code == 2
    with pytest.raises(UnknownFilterError, match="gaussian_blur"):
        convfx.get_filter("gauss")


def test_filters_pickle_for_process_pools():
    item = pickle.loads(pickle.dumps(convfx.get_filter("sobel")))
    np.testing.assert_array_equal(item.kernels[0].weights, convfx.get_filter("sobel_x").kernels[0].weights)


def test_shipped_banks_are_read_only():
    with pytest.raises(TypeError):
        banks.builtin_filters()["sobel"] = None  # type: ignore[index]


def test_bank_directory_holds_the_toml_files():
    files = {p.name for p in banks.bank_directory().glob("*.toml")}
    assert {"edges.toml", "blur.toml", "sharpen.toml", "stylize.toml"} <= files


# --------------------------------------------------------------------------- factories


def test_factory_defaults_reproduce_the_bank_entries():
    for spec, name in [({"size": 5}, "gaussian_blur"), ({"size": 3}, "gaussian_blur_3"), ({"length": 9}, "motion_blur")]:
        rebuilt = banks.with_parameters(convfx.get_filter(name), spec)
        np.testing.assert_allclose(rebuilt.kernels[0].weights, convfx.get_filter(name).kernels[0].weights, atol=1e-15)
    np.testing.assert_allclose(kernels.unsharp_kernel(), convfx.get_filter("unsharp").kernels[0].weights, atol=1e-15)


def test_factories_make_normalised_kernels():
    assert kernels.gaussian_kernel(sigma=2.0).shape == (13, 13)
    assert kernels.gaussian_kernel(sigma=2.0).sum() == pytest.approx(1.0)
    assert kernels.log_kernel(sigma=1.5).sum() == pytest.approx(0.0, abs=1e-12)
    assert kernels.motion_kernel(length=7, angle=30).sum() == pytest.approx(1.0)
    assert kernels.motion_kernel(length=5, angle=90).shape == (5, 1)
    assert kernels.box_kernel(size=5).sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "name, parameters, match",
    [
        ("gaussian_blur", {"radius": 2.0}, "unknown parameter"),
        ("gaussian_blur", {"size": 4.0}, "odd integer"),
        ("gaussian_blur", {"size": 301.0}, "odd integer"),
        ("gaussian_blur", {"sigma": -1.0}, "sigma"),
        ("sobel", {"sigma": 1.0}, "takes no parameters"),
    ],
)
def test_bad_parameters(name, parameters, match):
    with pytest.raises(convfx.ParameterError, match=match):
        banks.with_parameters(convfx.get_filter(name), parameters)


# --------------------------------------------------------------------------- user files


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_user_toml_with_a_combined_entry_using_a_shipped_kernel(tmp_path):
    path = write(
        tmp_path,
        "mine.toml",
        """
[wide_y]
description = "a taller derivative"
matrix = [[-1], [-1], [0], [1], [1]]
scale = "1/2"

[edge]
combine = "magnitude"
inputs = ["sobel_x", "wide_y"]
""",
    )
    filters = convfx.load_bank(path)
    assert list(filters) == ["wide_y", "edge"] and filters["wide_y"].family == "user"
    np.testing.assert_array_equal(filters["wide_y"].kernels[0].weights.ravel(), [-0.5, -0.5, 0, 0.5, 0.5])
    assert filters["wide_y"].output_range == "abs"  # sums to zero
    assert banks.load_kernel_file(path).name == "edge"  # the one nothing else uses
    assert banks.load_kernel_file(path, "wide_y").name == "wide_y"
    with pytest.raises(UnknownFilterError, match="holds wide_y, edge"):
        banks.load_kernel_file(path, "nope")


def test_json_uses_the_same_schema(tmp_path):
    path = write(tmp_path, "k.json", json.dumps({"soft": {"matrix": [[1, 1], [1, 1]], "scale": 0.25}}))
    soft = banks.load_kernel_file(path)
    assert soft.output_range == "clip" and soft.size == (2, 2)


def test_ambiguous_file_asks_for_a_name(tmp_path):
    path = write(tmp_path, "two.toml", "[a]\nmatrix = [[1]]\n[b]\nmatrix = [[2]]\n")
    with pytest.raises(KernelFileError, match=r"holds 2 filters \(a, b\); pick one as .*two.toml#NAME"):
        banks.load_kernel_file(path)


def test_npy_and_npz(tmp_path):
    np.save(tmp_path / "k.npy", np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]))
    item = banks.load_kernel_file(tmp_path / "k.npy")
    assert item.name == "k" and item.output_range == "abs"
    np.savez(tmp_path / "bank.npz", blur=np.full((3, 3), 1 / 9), edge=np.array([[1.0, -1.0]]))
    assert list(convfx.load_bank(tmp_path / "bank.npz")) == ["blur", "edge"]
    assert banks.load_kernel_file(tmp_path / "bank.npz", "edge").size == (1, 2)


BAD_TOML = {
    "ragged": ("[k]\nmatrix = [[1, 2, 3], [4, 5]]\n", r"\[k\].*ragged rows.*found 2 in row 1"),
    "nan": ("[k]\nmatrix = [[1, nan], [0, 1]]\n", r"\[k\].*finite"),
    "inf": ("[k]\nmatrix = [[1, inf], [0, 1]]\n", r"\[k\].*finite"),
    "empty_matrix": ("[k]\nmatrix = []\n", r"\[k\].*non-empty"),
    "empty_row": ("[k]\nmatrix = [[]]\n", r"\[k\].*non-empty"),
    "non_numeric": ('[k]\nmatrix = [[1, "two"], [3, 4]]\n', r"\[k\].*row 0, column 1: expected a number, found 'two'"),
    "boolean": ("[k]\nmatrix = [[true]]\n", r"expected a number, found True"),
    "flat_list": ("[k]\nmatrix = [1, 2, 3]\n", r"row 0: expected a list of numbers"),
    "unknown_key": ("[k]\nmatrix = [[1]]\nscal = 2\n", r"unknown key\(s\) \['scal'\]"),
    "bad_operation": ('[k]\nmatrix = [[1]]\noperation = "conv"\n', r"operation: invalid value 'conv'"),
    "bad_range": ('[k]\nmatrix = [[1]]\nrange = "wrap"\n', r"range: invalid value 'wrap'"),
    "matrix_and_row": ("[k]\nmatrix = [[1]]\nrow = [1]\ncolumn = [1]\n", r"either matrix or a column/row pair, found both"),
    "no_matrix": ('[k]\ndescription = "x"\n', r"found neither"),
    "zero_scale": ("[k]\nmatrix = [[1]]\nscale = 0\n", r"scale: expected a finite non-zero"),
    "bad_fraction": ('[k]\nmatrix = [[1]]\nscale = "1/0"\n', r"scale: expected a number or a fraction"),
    "bad_name": ("[Sobel-X]\nmatrix = [[1]]\n", r"invalid filter name"),
    "unknown_input": ('[k]\ncombine = "magnitude"\ninputs = ["sobel_x", "sobelz"]\n', r"unknown filter 'sobelz'"),
    "combined_input": ('[k]\ncombine = "max"\ninputs = ["sobel", "sobel_x"]\n', r"is itself combined"),
    "not_toml": ("[k\nmatrix = [[1]]\n", r"not valid TOML"),
    "no_tables": ("x = 1\n", r"expected a table"),
    "oversized": (f"[k]\nmatrix = [[{', '.join(['1'] * 256)}]]\n", r"1x256 is too large \(at most 255 per side\)"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOML))
def test_bad_toml_names_file_entry_and_reason(tmp_path, case):
    text, pattern = BAD_TOML[case]
    path = write(tmp_path, f"{case}.toml", text)
    with pytest.raises(KernelFileError, match=pattern) as info:
        convfx.load_bank(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message and info.value.exit_code == 2


def test_bad_json(tmp_path):
    with pytest.raises(KernelFileError, match="not valid JSON"):
        convfx.load_bank(write(tmp_path, "k.json", "{'k': 1}"))
    with pytest.raises(KernelFileError, match=r"\[k\].*finite"):
        convfx.load_bank(write(tmp_path, "n.json", '{"k": {"matrix": [[NaN]]}}'))


def test_bad_array_files(tmp_path):
    np.savez(tmp_path / "pickled.npz", k=np.array([{"a": 1}], dtype=object))
    with pytest.raises(KernelFileError, match="pickled Python objects"):
        convfx.load_bank(tmp_path / "pickled.npz")
    np.save(tmp_path / "pickled.npy", np.array([None, 1], dtype=object))
    with pytest.raises(KernelFileError, match="pickled Python objects"):
        convfx.load_bank(tmp_path / "pickled.npy")
    np.save(tmp_path / "cube.npy", np.zeros((3, 3, 3)))
    with pytest.raises(KernelFileError, match=r"2-D kernel.*\(3, 3, 3\)"):
        convfx.load_bank(tmp_path / "cube.npy")
    np.save(tmp_path / "complex.npy", np.zeros((3, 3), complex))
    with pytest.raises(KernelFileError, match="dtype complex"):
        convfx.load_bank(tmp_path / "complex.npy")
    np.save(tmp_path / "huge.npy", np.zeros((300, 3)))
    with pytest.raises(KernelFileError, match="too large"):
        convfx.load_bank(tmp_path / "huge.npy")
    np.save(tmp_path / "nan.npy", np.array([[np.nan]]))
    with pytest.raises(KernelFileError, match="finite"):
        convfx.load_bank(tmp_path / "nan.npy")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(KernelFileError, match="not a readable .npz kernel file"):
        convfx.load_bank(tmp_path / "junk.npz")


def test_missing_empty_folder_and_wrong_suffix(tmp_path):
    with pytest.raises(KernelFileError, match="kernel file not found"):
        convfx.load_bank(tmp_path / "missing.toml")
    (tmp_path / "empty.toml").write_bytes(b"")
    with pytest.raises(KernelFileError, match="empty kernel file"):
        convfx.load_bank(tmp_path / "empty.toml")
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(KernelFileError, match="is a folder"):
        convfx.load_bank(tmp_path / "dir.toml")
    with pytest.raises(KernelFileError, match="unsupported kernel file type '.txt'"):
        convfx.load_bank(tmp_path / "k.txt")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(KernelFileError, match="not a text file"):
        convfx.load_bank(tmp_path / "bin.toml")


# --------------------------------------------------------------------------- ImageMagick


def test_imagemagick_kernel_is_a_convolution():
    item = banks.parse_imagemagick("3x3: -1,0,1 -2,0,2 -1,0,1")
    assert item.kernels[0].operation == "convolve"
    np.testing.assert_array_equal(item.kernels[0].weights, -convfx.get_filter("sobel_x").kernels[0].weights)
    assert item.output_range == "abs"


def test_imagemagick_forms():
    laplacian = convfx.get_filter("laplacian").kernels[0].weights
    for text in ["0,1,0,1,-4,1,0,1,0", "3: 0 1 0\n 1 -4 1\n 0 1 0", "3x3:0,1,0, 1,-4,1, 0,1,0"]:
        np.testing.assert_array_equal(banks.parse_imagemagick(text).kernels[0].weights, laplacian)
    # nan marks taps outside the kernel's shape: weight 0.
    np.testing.assert_array_equal(banks.parse_imagemagick("1x3: nan 1 nan").kernels[0].weights.ravel(), [0, 1, 0])


def test_imagemagick_origin_becomes_the_centre():
    # Origin on the first tap of "1 -1": the backward difference x[i] - x[i-1].
    weights = banks.parse_imagemagick("2x1+0+0: 1 -1").kernels[0].weights
    np.testing.assert_array_equal(weights, [[-1, 1, 0]])
    # Default origin of an even kernel: just left of the centre, as in ImageMagick.
    np.testing.assert_array_equal(banks.parse_imagemagick("2x1: 1 -1").kernels[0].weights, [[-1, 1, 0]])
    np.testing.assert_array_equal(banks.parse_imagemagick("2x1+1+0: 1 -1").kernels[0].weights, [[0, -1, 1]])


@pytest.mark.parametrize(
    "text, match",
    [
        ("3x3: 1,2,3", r"expected 3x3 = 9 values, found 3"),
        ("3x3: 1,2,3,4,five,6,7,8,9", r"expected a number, found 'five'"),
        ("1,2,3,4", r"odd square number"),
        ("3x3: 1,1,1,1,1,1,1,1,1; 3x3: 1,1,1,1,1,1,1,1,1", r"several kernels"),
        ("3x3@: 1,1,1,1,1,1,1,1,1", r"flags"),
        ("3x3+5+0: 1,1,1,1,1,1,1,1,1", r"origin \+5\+0 is outside"),
        ("1x300: " + " ".join(["1"] * 300), r"too large"),
    ],
)
def test_bad_imagemagick_strings(text, match):
    with pytest.raises(KernelFileError, match=match) as info:
        banks.parse_imagemagick(text)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- display


def test_format_filter_prints_exact_kernels():
    text = banks.format_filter(convfx.get_filter("sobel_x"))
    assert "-1  0  1\n  -2  0  2\n  -1  0  1" in text
    blur = banks.format_filter(convfx.get_filter("box_blur"))
    assert "0.1111111111111111" in blur and "= 1/9 x" in blur  # exact double, and as written
    farid = banks.format_filter(convfx.get_filter("farid_x"))
    assert "rotated 180 degrees" in farid
    assert "combine: magnitude" in banks.format_filter(convfx.get_filter("sobel"))


@pytest.mark.parametrize(
    "spec, words",
    [
        ("3x3: 1e400,0,0 0,0,0 0,0,0", "finite"),  # inf once parsed: refused, not turned into the largest float
        ("3x3: -1e400,0,0 0,0,0 0,0,0", "finite"),
        ("3x3: 1e39,0,0 0,0,0 0,0,0", "float32's range"),
    ],
)
def test_overflowing_kernel_values_are_refused(tmp_path, spec, words):
    with pytest.raises(KernelFileError, match=words):
        banks.parse_imagemagick(spec)
    (tmp_path / "big.toml").write_text("[k]\nmatrix = [[1e308, 1e308]]\n")
    with pytest.raises(KernelFileError, match=r"big.toml.*float32's range.*1e\+308"):
        convfx.load_bank(tmp_path / "big.toml")
    # ImageMagick's "nan" means "no tap": a zero weight.
    assert banks.parse_imagemagick("3x1: nan,1,0").kernels[0].weights.tolist() == [[0.0, 1.0, 0.0]]


def test_a_compressed_kernel_bomb_is_refused_before_inflating(tmp_path):
    np.savez_compressed(tmp_path / "bomb.npz", k=np.zeros((3000, 3000), np.uint8))
    with pytest.raises(KernelFileError, match=r"bomb.npz: array 'k' has shape \(3000, 3000\), more than 65,025 values"):
        convfx.load_bank(tmp_path / "bomb.npz")


def test_scale_times_matrix_beyond_float32_is_refused(tmp_path):
    (tmp_path / "s.toml").write_text("[k]\nmatrix = [[3e38, 0]]\nscale = 10\n")
    with pytest.raises(KernelFileError, match=r"s.toml.*scale x matrix reaches 3e\+39, beyond float32's range"):
        convfx.load_bank(tmp_path / "s.toml")


# --------------------------------------------------------------------------- hostile kernel files


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("big.json", '{"k": {"matrix": [[1' + "0" * 400 + ", 1]]}}", r"big\.json: \[k\]: matrix: expected finite numbers"),
        (
            "big.toml",
            "[k]\nmatrix = [[1" + "0" * 400 + ", 1]]\n",
            r"big\.toml: \[k\]: matrix: row 0, column 0: expected a number within float32's range .* an integer of about 401 digits",
        ),
        ("long.json", '{"k": {"matrix": [[1' + "0" * 4400 + ", 1]]}}", r"long\.json: \[k\]: matrix: expected finite numbers"),
        (
            "long.toml",
            "[k]\nmatrix = [[1" + "0" * 4400 + ", 1]]\n",
            r"long\.toml: not valid TOML \(Exceeds the limit \(4300 digits\)",
        ),
        (
            "deep.json",
            '{"k": {"matrix": ' + "[" * 50_000 + "]" * 50_000 + "}}",
            r"deep\.json: not valid JSON \(nested more than 32 deep\)$",
        ),
        (
            "deep.toml",
            "[k]\nmatrix = " + "[" * 50_000 + "]" * 50_000 + "\n",
            r"deep\.toml: not valid TOML \(nested more than 32 deep\)$",
        ),
        (
            "forty.json",
            '{"k": {"matrix": ' + "[" * 40 + "]" * 40 + "}}",
            r"forty\.json: not valid JSON \(nested more than 32 deep\)$",
        ),
    ],
)
def test_hostile_numbers_and_nesting_are_one_line_errors(tmp_path, name, text, words):
    """Integers beyond float range, past Python's 4,300-digit limit, and deep nesting: one line each."""
    (tmp_path / name).write_text(text)
    with pytest.raises(KernelFileError, match=words) as info:
        convfx.load_bank(tmp_path / name)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_a_json_integer_is_read_as_a_float(tmp_path):
    (tmp_path / "k.json").write_text('{"k": {"matrix": [[1, 2], [3, 4]], "scale": 2}}')
    kernel = banks.load_kernel_file(tmp_path / "k.json").kernels[0]
    np.testing.assert_array_equal(kernel.weights, [[2, 4], [6, 8]])
    assert kernel.scale_text == "2"


def test_a_bank_of_too_many_entries_is_refused_before_it_is_built(tmp_path):
    from convfx.limits import MAX_BANK_ENTRIES

    count = MAX_BANK_ENTRIES + 1
    (tmp_path / "many.toml").write_text("".join(f"[k{i}]\nmatrix = [[1]]\n" for i in range(count)))
    with pytest.raises(KernelFileError) as info:
        convfx.load_bank(tmp_path / "many.toml")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'many.toml'}: holds {count} filters, more than {MAX_BANK_ENTRIES}")
    assert "[k0], [k1]" in message and "[k9] ..." in message and "[k10]" not in message
    # Written without table headers (dotted keys), in JSON, or as .npz arrays: the same limit.
    (tmp_path / "dotted.toml").write_text("".join(f"k{i}.matrix = [[1]]\n" for i in range(count)))
    (tmp_path / "many.json").write_text(json.dumps({f"k{i}": {"matrix": [[1]]} for i in range(count)}))
    np.savez(tmp_path / "many.npz", **{f"k{i}": np.ones((1, 1)) for i in range(count)})
    for name in ("dotted.toml", "many.json"):
        with pytest.raises(KernelFileError, match=f"holds {count} filters, more than {MAX_BANK_ENTRIES}"):
            convfx.load_bank(tmp_path / name)
    with pytest.raises(KernelFileError, match=f"holds {count} arrays, more than {MAX_BANK_ENTRIES}"):
        convfx.load_bank(tmp_path / "many.npz")
    # Matrix rows on lines of their own are not table headers: 255 of them and 201 tables pass.
    rows = "\n".join("  [1, 2]," for _ in range(255))
    tables = "".join(f"[k{i}]\nmatrix = [[1]]\n" for i in range(200))
    (tmp_path / "tall.toml").write_text(f"[tall]\nmatrix = [\n{rows}\n]\n{tables}")
    assert len(banks.load_bank(tmp_path / "tall.toml")) == 201


def test_npz_kernel_of_wide_items_is_refused_before_decompressing(tmp_path):
    np.savez_compressed(tmp_path / "v.npz", k=np.zeros((255, 255), dtype="V300"))  # 19.5 MB decoded, a few kB stored
    with pytest.raises(
        KernelFileError, match=r"v\.npz: array 'k' of shape \(255, 255\) and dtype \|V300 .* past 16,777,216 bytes"
    ):
        convfx.load_bank(tmp_path / "v.npz")


def test_a_fifo_is_not_a_kernel_file(tmp_path):
    import os

    os.mkfifo(tmp_path / "k.toml")
    with pytest.raises(KernelFileError, match=r"k\.toml: not a regular file \(a FIFO\), expected a kernel file"):
        convfx.load_bank(tmp_path / "k.toml")


def test_a_toml_bank_of_too_many_entries_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    """TOML parses slowly: tables and dotted keys are counted first, and a huge bank is refused unparsed."""
    from convfx.banks import files
    from convfx.limits import MAX_BANK_ENTRIES

    def no_parsing(text):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(files.tomllib, "loads", no_parsing)
    count = MAX_BANK_ENTRIES + 1
    (tmp_path / "headers.toml").write_text("".join(f"[k{i}]  # one tap\nmatrix = [[1]]\n" for i in range(count)))
    (tmp_path / "dotted.toml").write_text("".join(f"k{i}.matrix = [[1]]\nk{i}.scale = 2\n" for i in range(count)))
    for name in ("headers.toml", "dotted.toml"):
        with pytest.raises(KernelFileError, match=f"holds {count} filters, more than {MAX_BANK_ENTRIES}.*: \\[k0\\], \\[k1\\]"):
            convfx.load_bank(tmp_path / name)
