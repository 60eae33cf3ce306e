"""convfx.nn.inspect (summary, feature maps, tour) and the ``summary`` / ``tour`` commands.

Models are built here with a fixed seed and saved to tmp_path; nothing depends on
the shipped model files.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from convfx.cli import app
from convfx.errors import FileError, ParameterError
from convfx.models import DEFAULT_MODEL, SHIPPED_MODELS
from convfx.nn import LeNet, softmax
from convfx.nn import inspect as nn_inspect

runner = CliRunner()

# The textbook PyTorch LeNet-5 counted by hand: weights + biases per layer.
HAND_COUNT_GRAY_10 = {
    "conv1": 6 * 1 * 5 * 5 + 6,  # 156
    "conv2": 16 * 6 * 5 * 5 + 16,  # 2,416
    "fc1": 400 * 120 + 120,  # 48,120
    "fc2": 120 * 84 + 84,  # 10,164
    "fc3": 84 * 10 + 10,  # 850
}


@pytest.fixture(scope="module")
def gray_model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "gray.npz"
    LeNet(1, 10, seed=7, input_mean=[0.25], input_std=[0.3]).save(path)
    return path


@pytest.fixture(scope="module")
def rgb_model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "rgb.npz"
    LeNet(3, 4, seed=7, class_names=["disc", "ring", "square", "bar"]).save(path)
    return path


def test_summary_has_lenets_diagram_shapes_and_the_hand_counted_total():
    rows = nn_inspect.summarize(LeNet(1, 10, seed=0))
    named = {row.lenet_name: row.shape for row in rows if row.lenet_name}
    assert named == {"C1": "6@28x28", "S2": "6@14x14", "C3": "16@10x10", "S4": "16@5x5", "F5": "120", "F6": "84", "output": "10"}
    assert [row.name for row in rows] == [
        "input", "conv1", "act1", "pool1", "conv2", "act2", "pool2", "flatten", "fc1", "act3", "fc2", "act4", "fc3",
    ]  # fmt: skip
    counts = {row.name: row.parameters for row in rows if row.parameters}
    assert counts == HAND_COUNT_GRAY_10
    assert sum(HAND_COUNT_GRAY_10.values()) == 61_706
    assert sum(row.parameters for row in rows) == nn_inspect.total_parameters(LeNet(1, 10, seed=0)) == 61_706
    conv1, pool1 = rows[1], rows[3]
    assert (conv1.kernel, conv1.stride, conv1.padding, conv1.pool) == ((5, 5), (1, 1), (0, 0), None)
    assert (pool1.pool, pool1.stride, pool1.kernel) == ((2, 2), (2, 2), None)


@pytest.mark.parametrize(
    ("channels", "classes", "total"),
    [
        (1, 10, 61_706),
        (3, 10, 61_706 + 2 * 6 * 25),  # conv1 sees two more channels
        (3, 7, 61_706 + 2 * 6 * 25 - 3 * 85),  # three fewer outputs of 84 weights + 1 bias
        (1, 2, 61_706 - 8 * 85),
    ],
)
def test_parameter_counts_for_gray_rgb_and_other_class_counts(channels, classes, total):
    model = LeNet(channels, classes, seed=1)
    rows = nn_inspect.summarize(model)
    assert rows[0].output_shape == (channels, 32, 32) and rows[-1].output_shape == (classes,)
    assert sum(row.parameters for row in rows) == nn_inspect.total_parameters(model) == total


def test_prelu_slopes_are_counted():
    rows = nn_inspect.summarize(LeNet(1, 10, activation="prelu", seed=0))
    assert {row.name: row.parameters for row in rows if row.kind == "PReLU"} == {"act1": 6, "act2": 16, "act3": 120, "act4": 84}


def test_shape_text_is_lenets_notation():
    assert nn_inspect.shape_text((16, 10, 12)) == "16@12x10"  # D@WxH: width before height
    assert nn_inspect.shape_text((84,)) == "84"


def test_feature_maps_end_in_the_models_own_logits(rng):
    model = LeNet(1, 10, seed=3, input_mean=[0.2], input_std=[0.5])
    image = rng.random((1, 32, 32)).astype(np.float32)
    maps = nn_inspect.feature_maps(model, image)
    assert [m.shape for m in maps][:3] == ["6@28x28", "6@28x28", "6@14x14"]
    np.testing.assert_allclose(maps[-1].values, model.forward(image[None])[0], rtol=1e-5, atol=1e-6)
    result = nn_inspect.tour(model, image)
    np.testing.assert_allclose(result.probabilities, model.predict_proba(image[None])[0], rtol=1e-5, atol=1e-7)
    assert result.probabilities.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(result.probabilities, softmax(maps[-1].values[None])[0])


def test_feature_maps_refuse_an_image_of_the_wrong_channels(rng):
    with pytest.raises(ParameterError, match=r"image: expected shape \(3, 32, 32\)"):
        nn_inspect.feature_maps(LeNet(3, 10, seed=0), rng.random((1, 32, 32)))


def test_tour_images_are_resized_and_converted_to_the_models_channels(tmp_path):
    rows, columns = np.mgrid[0:60, 0:51]
    ramps = np.stack([columns / 50, rows / 59, np.full(rows.shape, 0.5)], axis=2)  # smooth: no resampling overshoot
    path = tmp_path / "ramps.png"
    Image.fromarray(np.round(255 * ramps).astype(np.uint8)).save(path)  # (60, 51, 3), centre-cropped to 51x51
    rgb = nn_inspect.load_tour_image(path, channels=3)
    gray = nn_inspect.load_tour_image(path, channels=1)
    assert rgb.shape == (3, 32, 32) and gray.shape == (1, 32, 32)
    assert rgb.dtype == np.float32 and rgb.min() >= 0 and rgb.max() <= 1
    # Luminance of the resized colour image = resized luminance (both steps are linear).
    np.testing.assert_allclose(gray[0], 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2], atol=0.02)
    digit = nn_inspect.load_tour_image("digit:3", channels=3)
    assert digit.shape == (3, 32, 32) and np.array_equal(digit[0], digit[2])
    with pytest.raises(ParameterError, match="digit:N"):
        nn_inspect.load_tour_image("digit:x", channels=1)
    assert nn_inspect.tour_input(path, channels=1)[1] is None  # a file of one's own has no known label


def test_a_held_out_digit_comes_with_its_true_label():
    from convfx.nn import load_digits

    digits = load_digits()
    image, label = nn_inspect.tour_input("digit:7", channels=1)
    np.testing.assert_array_equal(image, digits.test_images[7])
    assert label == digits.class_names[digits.test_labels[7]]


@pytest.mark.slow
def test_a_held_out_photo_patch_comes_with_its_true_label():
    from convfx.nn.photos import load_photos

    gray, colour = load_photos(exposure=False), load_photos(color=True, exposure=False)
    image, label = nn_inspect.tour_input("photo:100", channels=1)
    np.testing.assert_array_equal(image, gray.test_images[100])
    assert label == gray.class_names[gray.test_labels[100]]
    rgb, same = nn_inspect.tour_input("photo:100", channels=3)
    np.testing.assert_array_equal(rgb, colour.test_images[100])
    assert same == label
    with pytest.raises(ParameterError, match=rf"expected photo:N with N in 0\.\.{len(gray.test_labels) - 1}"):
        nn_inspect.tour_input(f"photo:{len(gray.test_labels)}", channels=1)


def test_default_tour_images_follow_the_data_the_model_learned(gray_model_path):
    from convfx.nn import load_digits

    digits_model = LeNet(1, 10, seed=0)
    digits_model.metadata["dataset"] = "digits"
    spec = nn_inspect.default_tour_image(digits_model)
    assert spec.startswith("digit:")
    for name in ("photos", "photos-rgb"):
        digits_model.metadata["dataset"] = name
        assert nn_inspect.default_tour_image(digits_model).startswith("photo:")
    digits_model.metadata["dataset"] = "shapes"
    with pytest.raises(ParameterError, match="image: expected an image for a model trained on 'shapes'"):
        nn_inspect.default_tour_image(digits_model)
    # An untrained model records no data set: no default either.
    with pytest.raises(ParameterError, match="trained on None"):
        nn_inspect.tour_file(gray_model_path)
    data = load_digits()
    tour = nn_inspect.tour(LeNet(1, 10, seed=0), data.test_images[0], source="digit:0", true_label="5")
    assert tour.true_label == "5" and tour.source == "digit:0"


@pytest.mark.parametrize("name", [None, "photos", "digits", "shapes"])
def test_missing_shipped_model_is_one_line(monkeypatch, tmp_path, name):
    for shipped in SHIPPED_MODELS:
        monkeypatch.setitem(SHIPPED_MODELS, shipped, tmp_path / f"{shipped}.npz")
    expected = name or DEFAULT_MODEL
    with pytest.raises(FileError) as info:
        nn_inspect.load_model(name)
    assert str(info.value).startswith(f"{tmp_path / expected}.npz: the shipped {expected} model is missing")
    assert "\n" not in str(info.value)


@pytest.fixture
def shipped(monkeypatch, gray_model_path, rgb_model_path):
    """The shipped names pointing at this module's models (nothing depends on the real files)."""
    monkeypatch.setitem(SHIPPED_MODELS, "digits", gray_model_path)
    monkeypatch.setitem(SHIPPED_MODELS, "shapes", rgb_model_path)


def test_models_are_named_like_everywhere_else(shipped, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert nn_inspect.load_model("shapes").class_names == ["disc", "ring", "square", "bar"]
    assert nn_inspect.load_model("digits").in_channels == 1
    assert nn_inspect.tour_file("shapes", "digit:3").class_names == ["disc", "ring", "square", "bar"]
    # A file of that name wins, as in convfx compare (convfx.models.resolve_model).
    LeNet(1, 2, seed=0, class_names=["mine", "yours"]).save(tmp_path / "shapes")
    assert nn_inspect.load_model("shapes").class_names == ["mine", "yours"]


@pytest.mark.slow
def test_summary_and_tour_commands_accept_a_shipped_name(shipped, tmp_path, rgb_model_path):
    summary = runner.invoke(app, ["summary", "shapes"])
    assert summary.exit_code == 0, summary.output
    assert summary.stdout.startswith(f"{rgb_model_path}: LeNet-5") and "3@32x32 (RGB), 4 classes" in summary.stdout
    out = tmp_path / "tour.png"
    tour = runner.invoke(app, ["tour", "shapes", "--image", "digit:3", "-o", str(out)])
    assert tour.exit_code == 0, tour.output
    assert "predicted" in tour.stdout and out.is_file()
    evaluate = runner.invoke(app, ["evaluate", "digits", "--dataset", "digits"])
    assert evaluate.exit_code == 0, evaluate.output
    assert "accuracy" in evaluate.stdout


def test_summary_command_prints_every_layer_and_the_total(gray_model_path):
    result = runner.invoke(app, ["summary", str(gray_model_path)])
    assert result.exit_code == 0, result.output
    for text in (
        "conv1 (C1)",
        "6@28x28",
        "pool1 (S2)",
        "6@14x14",
        "16@10x10",
        "16@5x5",
        "fc3 (output)",
        "2,416",
        "48,120",
        "61,706",
    ):
        assert text in result.stdout, text


@pytest.mark.slow
def test_summary_plot_draws_the_model_as_volumes(tmp_path, gray_model_path, rgb_model_path):
    for model, channels in ((gray_model_path, 1), (rgb_model_path, 3)):
        out = tmp_path / f"{model.stem}.svg"
        result = runner.invoke(app, ["summary", str(model), "--plot", str(out)])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip().endswith(f"wrote {out}")
        svg = out.read_text()
        # The SVG keeps the drawing's ids: one sheet per input channel, the boxes the convolutions read.
        assert svg.count('id="input-plane-') == channels and svg.count('id="C3-plane-') == 16
        assert f"input: {channels}@32x32" in svg and "C1: 6@28x28" in svg and "5x5x6 kernel" in svg
    again = runner.invoke(app, ["summary", str(gray_model_path), "--plot", str(tmp_path / "gray.svg")])
    assert again.exit_code == 1 and "already exists" in again.stderr
    bad = runner.invoke(app, ["summary", str(gray_model_path), "--plot", str(tmp_path / "net.jpg")])
    assert bad.exit_code == 2 and bad.stderr.strip().count("\n") == 0 and "unsupported file type '.jpg'" in bad.stderr


def test_summary_of_a_missing_model_is_one_line(tmp_path):
    result = runner.invoke(app, ["summary", str(tmp_path / "none.npz")])
    assert result.exit_code == 2  # a usage error: the MODEL named does not exist
    assert result.stderr.strip().splitlines() == [f"convfx: error: {tmp_path / 'none.npz'}: no such file"]


@pytest.mark.slow
def test_tour_writes_a_png_for_a_gray_and_an_rgb_model(tmp_path, gray_model_path, rgb_model_path, rgb_image):
    photo = tmp_path / "photo.png"
    Image.fromarray(rgb_image).save(photo)
    for model, image in ((gray_model_path, "digit:5"), (rgb_model_path, str(photo))):
        out = tmp_path / f"{model.stem}_tour.png"
        result = runner.invoke(app, ["tour", str(model), "--image", image, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert "predicted" in result.stdout and str(out) in result.stdout
        with Image.open(out) as drawn:
            width, height = drawn.size
        assert 800 <= width <= 1600 and 900 <= height <= 2000  # one row per layer, 16 maps wide, class names below
        assert 10_000 < out.stat().st_size < 400_000


@pytest.mark.slow
def test_tour_without_an_image_shows_the_default_models_held_out_patch_and_its_label(tmp_path):
    out = tmp_path / "tour.png"
    result = runner.invoke(app, ["tour", "-o", str(out)])
    assert result.exit_code == 0, result.output
    spec = nn_inspect.DEFAULT_TOUR_IMAGES["photos"]
    assert result.stdout.startswith(f"{spec}: predicted ") and ", true label 'astronaut'; wrote" in result.stdout
    assert out.is_file()
    tour = nn_inspect.tour_file(None)
    assert tour.source == spec and tour.true_label == "astronaut" and len(tour.class_names) == 14


@pytest.mark.slow
def test_tour_bad_image_and_existing_output_are_one_line(tmp_path, gray_model_path):
    bad = runner.invoke(app, ["tour", str(gray_model_path), "--image", "digit:100000", "-o", str(tmp_path / "t.png")])
    assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) == 1 and "digit:N" in bad.stderr
    existing = tmp_path / "exists.png"
    existing.write_bytes(b"keep")
    again = runner.invoke(app, ["tour", str(gray_model_path), "--image", "digit:0", "-o", str(existing)])
    assert again.exit_code == 1 and "already exists" in again.stderr and existing.read_bytes() == b"keep"
