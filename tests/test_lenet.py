"""LeNet-5: shapes, the .npz format (PyTorch names, no pickle), loading and saving."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from convfx import FileError, ParameterError
from convfx.imageio import OutputExistsError
from convfx.nn import LeNet
from convfx.nn.lenet import STATE_DICT_NAMES, check_model_destination

EXPECTED_SHAPES = {
    "conv1.weight": (6, 3, 5, 5),
    "conv1.bias": (6,),
    "conv2.weight": (16, 6, 5, 5),
    "conv2.bias": (16,),
    "fc1.weight": (120, 400),
    "fc1.bias": (120,),
    "fc2.weight": (84, 120),
    "fc2.bias": (84,),
    "fc3.weight": (8, 84),
    "fc3.bias": (8,),
}


@pytest.fixture
def rgb_model() -> LeNet:
    model = LeNet(3, 8, seed=3, input_mean=[0.5, 0.4, 0.3], input_std=[0.2, 0.25, 0.3], class_names=list("abcdefgh"))
    model.metadata = {"dataset": "shapes", "seed": 3, "lr": 0.05}
    model.history = {"loss": np.linspace(2, 0.1, 7, dtype=np.float32)}
    model.snapshots = {"conv1.weight": np.zeros((3, 6, 3, 5, 5), np.float32)}
    return model


@pytest.mark.parametrize("channels, classes", [(1, 10), (3, 8)])
def test_forward_and_predict_shapes(rng, channels, classes):
    model = LeNet(channels, classes, seed=0)
    x = rng.random((5, channels, 32, 32), dtype=np.float32)
    logits = model.forward(x)
    assert logits.shape == (5, classes) and logits.dtype == np.float32
    probabilities = model.predict_proba(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    predictions = model.predict(x, batch_size=2)
    assert predictions.shape == (5,) and predictions.dtype == np.int64
    np.testing.assert_array_equal(predictions, logits.argmax(axis=1))


def test_intermediate_shapes_follow_the_1998_geometry(rng):
    model = LeNet(1, 10, seed=0)
    out = rng.random((2, 1, 32, 32), dtype=np.float32)
    shapes = {}
    for name, layer in model.layers.items():
        out = layer.forward(out)
        shapes[name] = out.shape[1:]
    assert shapes["conv1"] == (6, 28, 28)
    assert shapes["pool1"] == (6, 14, 14)
    assert shapes["conv2"] == (16, 10, 10)
    assert shapes["pool2"] == (16, 5, 5)
    assert shapes["flatten"] == (400,)
    assert (shapes["fc1"], shapes["fc2"], shapes["fc3"]) == ((120,), (84,), (10,))


def test_forward_rejects_other_geometries():
    model = LeNet(1, 10, seed=0)
    with pytest.raises(ParameterError, match=r"\(N, 1, 32, 32\).*\(2, 1, 28, 28\)"):
        model.forward(np.zeros((2, 1, 28, 28), np.float32))
    with pytest.raises(ParameterError, match="in_channels"):
        LeNet(2, 10)
    with pytest.raises(ParameterError, match="activation.*'swish'"):
        LeNet(1, 10, activation="swish")
    with pytest.raises(ParameterError, match="class_names"):
        LeNet(1, 3, class_names=["a", "b"])


def test_state_dict_uses_pytorch_names_and_shapes(rgb_model):
    state = rgb_model.state_dict()
    weights = {key: value.shape for key, value in state.items() if not key.startswith("convfx.")}
    assert weights == EXPECTED_SHAPES
    assert list(weights) == list(STATE_DICT_NAMES)
    assert all(key.startswith("convfx.") for key in set(state) - set(STATE_DICT_NAMES))
    assert state["convfx.meta.activation"] == "relu"
    np.testing.assert_array_equal(state["convfx.meta.class_names"], list("abcdefgh"))


def test_save_load_round_trip_without_pickle(tmp_path, rng, rgb_model):
    path = rgb_model.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz" and path.exists()
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)
        assert set(STATE_DICT_NAMES) <= set(archive.files)
    with zipfile.ZipFile(path) as archive:  # plain .npy members, nothing pickled
        assert all(name.endswith(".npy") for name in archive.namelist())
    loaded = LeNet.load(path)
    x = rng.random((4, 3, 32, 32), dtype=np.float32)
    np.testing.assert_array_equal(loaded.forward(x), rgb_model.forward(x))
    assert loaded.class_names == list("abcdefgh")
    assert loaded.metadata == {"dataset": "shapes", "seed": 3, "lr": 0.05}
    np.testing.assert_array_equal(loaded.history["loss"], rgb_model.history["loss"])
    assert loaded.snapshots["conv1.weight"].shape == (3, 6, 3, 5, 5)
    np.testing.assert_allclose(loaded.input_std, [0.2, 0.25, 0.3], rtol=1e-6)


def test_prelu_slopes_and_options_survive_saving(tmp_path, rng):
    model = LeNet(1, 4, activation="prelu", pooling="avg", seed=1)
    model.layers["act2"].params["weight"][...] = rng.uniform(0, 0.5, 16)
    path = model.save(tmp_path / "prelu.npz")
    with np.load(path) as archive:
        assert archive["convfx.act2.weight"].shape == (16,)
        assert "act2.weight" not in archive.files
    loaded = LeNet.load(path)
    assert (loaded.activation, loaded.pooling) == ("prelu", "avg")
    x = rng.random((3, 1, 32, 32), dtype=np.float32)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


def test_loads_a_bare_state_dict(tmp_path, rng):
    """An .npz with only the ten PyTorch names (as a PyTorch user would write it)."""
    model = LeNet(1, 5, seed=2)
    bare = {key: value for key, value in model.state_dict().items() if not key.startswith("convfx.")}
    np.savez(tmp_path / "bare.npz", **bare)
    loaded = LeNet.load(tmp_path / "bare.npz")
    assert (loaded.in_channels, loaded.num_classes, loaded.activation) == (1, 5, "relu")
    x = rng.random((2, 1, 32, 32), dtype=np.float32)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


def test_save_refuses_to_overwrite_unless_asked(tmp_path):
    model = LeNet(1, 10, seed=0)
    model.save(tmp_path / "m.npz")
    with pytest.raises(OutputExistsError, match="m.npz.*already exists"):
        model.save(tmp_path / "m.npz")
    model.save(tmp_path / "m.npz", overwrite=True)
    with pytest.raises(OutputExistsError):
        check_model_destination(tmp_path / "m.npz")
    with pytest.raises(FileError, match="does not exist"):
        check_model_destination(tmp_path / "missing" / "m.npz")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "nothing.npz", "no such file"),
        (lambda d: d, "is a folder"),
        (lambda d: (d / "text.npz").write_text("not a zip") and d / "text.npz", "not a readable .npz"),
    ],
)
def test_load_errors_name_the_file(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(FileError, match=message) as info:
        LeNet.load(path)
    assert str(path) in str(info.value)


def test_load_reports_missing_and_misshapen_weights(tmp_path):
    state = LeNet(1, 10, seed=0).state_dict()
    np.savez(tmp_path / "missing.npz", **{k: v for k, v in state.items() if k != "fc2.bias"})
    with pytest.raises(FileError, match="missing.npz: missing 'fc2.bias'"):
        LeNet.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "shape.npz", **{**state, "conv2.weight": np.zeros((16, 6, 3, 3), np.float32)})
    with pytest.raises(FileError, match=r"'conv2.weight' has shape \(16, 6, 3, 3\), expected \(16, 6, 5, 5\)"):
        LeNet.load(tmp_path / "shape.npz")
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(FileError, match="not a LeNet model file"):
        LeNet.load(tmp_path / "other.npz")


@pytest.mark.parametrize(
    "key, value, found",
    [
        ("fc1.weight", np.full((120, 400), "x"), "strings"),
        ("conv1.weight", np.full((6, 1, 5, 5), b"x"), "bytes"),
        ("fc1.bias", np.zeros(120, dtype=[("a", "<f4")]), "structured records"),  # used to load, silently cast
        ("fc2.weight", np.ones((84, 120), np.complex64), "complex numbers"),  # used to drop the imaginary part
        ("convfx.meta.input_mean", np.array(["0.5"]), "strings"),
        ("convfx.meta.input_std", np.zeros(1, dtype=[("a", "<f4"), ("b", "<i4")]), "structured records"),
    ],
)
def test_load_refuses_arrays_that_are_not_numbers(tmp_path, key, value, found):
    state = LeNet(1, 10, seed=0).state_dict()
    path = tmp_path / "odd.npz"
    np.savez(path, **{**state, key: value})
    with pytest.raises(FileError) as info:
        LeNet.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key!r} holds {found}") and message.endswith("expected real numbers")
    assert "\n" not in message


def test_load_accepts_integer_weights(tmp_path):
    state = LeNet(1, 10, seed=0).state_dict()
    np.savez(tmp_path / "int.npz", **{**state, "fc1.bias": np.arange(120, dtype=np.int16)})
    np.testing.assert_array_equal(LeNet.load(tmp_path / "int.npz").layers["fc1"].params["bias"], np.arange(120))


def test_replica_shares_weights_not_gradients(rng):
    model = LeNet(1, 10, seed=0)
    twin = model.replica()
    for (name, value, grad), (_, twin_value, twin_grad) in zip(model.parameters(), twin.parameters()):
        assert twin_value is value, name
        assert twin_grad is not grad
    x = rng.random((2, 1, 32, 32), dtype=np.float32)
    np.testing.assert_array_equal(twin.forward(x), model.forward(x))


def test_pytorch_textbook_lenet_gives_the_same_logits(tmp_path, rng):
    """The README's loading snippet, verbatim in spirit."""
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.nn import functional as F

    class TextbookLeNet(nn.Module):
        def __init__(self, in_channels=1, num_classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, num_classes)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    model = LeNet(3, 8, seed=5, input_mean=[0.5, 0.4, 0.3], input_std=[0.2, 0.25, 0.3])
    for _, value, _ in model.parameters():
        value += rng.uniform(-0.05, 0.05, value.shape).astype(np.float32)  # non-zero biases too
    model.save(tmp_path / "model.npz")

    arrays = np.load(tmp_path / "model.npz")
    net = TextbookLeNet(3, 8)
    net.load_state_dict({k: torch.from_numpy(arrays[k]) for k in arrays.files if not k.startswith("convfx.")})
    mean = arrays["convfx.meta.input_mean"][:, None, None]
    std = arrays["convfx.meta.input_std"][:, None, None]
    images = rng.random((6, 3, 32, 32), dtype=np.float32)
    with torch.no_grad():
        theirs = net(torch.from_numpy((images - mean) / std)).numpy()
    np.testing.assert_allclose(model.forward(images), theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "key, value, words",
    [
        (
            "convfx.meta.class_names",
            np.array("zero"),
            r"'convfx.meta.class_names' has shape \(\) and dtype <U4; expected a 1-D array of names",
        ),
        (
            "convfx.meta.class_names",
            np.zeros((2, 5)),
            r"'convfx.meta.class_names' has shape \(2, 5\) .* expected a 1-D array of names",
        ),
        (
            "convfx.meta.activation",
            np.array(["relu", "tanh"]),
            r"'convfx.meta.activation' has shape \(2,\) .* expected a single string or number",
        ),
        ("convfx.meta.test_accuracy", np.zeros(3), r"'convfx.meta.test_accuracy' has shape \(3,\)"),
        ("convfx.meta.input_mean", np.zeros((1, 1)), r"'convfx.meta.input_mean' has shape \(1, 1\) .* expected at most 1-D"),
        ("convfx.meta.input_std", np.array([np.inf]), r"'convfx.meta.input_std' holds NaN or inf, expected finite numbers"),
        (
            "convfx.history.loss",
            np.zeros((2, 2)),
            r"'convfx.history.loss' has shape \(2, 2\); expected one value per step or epoch",
        ),
        (
            "convfx.snapshots.conv1.weight",
            np.zeros((3, 6, 1, 3, 3)),
            r"'convfx.snapshots.conv1.weight' has shape \(3, 6, 1, 3, 3\); expected \(E, 6, 1, 5, 5\)",
        ),
        ("convfx.snapshots.conv1.weight", np.full((2, 6, 1, 5, 5), np.nan), r"'convfx.snapshots.conv1.weight' holds NaN or inf"),
        ("fc1.weight", np.full((120, 400), np.nan, np.float32), r"'fc1.weight' holds NaN or inf, expected finite numbers"),
        ("conv2.bias", np.array([np.inf] * 16, np.float32), r"'conv2.bias' holds NaN or inf"),
    ],
)
def test_load_checks_every_entry_it_reads(tmp_path, key, value, words):
    """Metadata of the wrong shape ended in a TypeError; NaN weights evaluated to 'accuracy 10%'."""
    state = LeNet(1, 10, seed=0).state_dict()
    path = tmp_path / "odd.npz"
    np.savez(path, **{**state, key: value})
    with pytest.raises(FileError, match=rf"^{path}: {words}"):
        LeNet.load(path)


def test_load_keeps_what_training_writes(tmp_path):
    model = LeNet(1, 10, seed=0)
    model.metadata = {"dataset": "digits", "seed": 3, "lr": 0.05, "test_accuracy": 0.5}
    model.history = {"loss": np.arange(5.0)}
    model.snapshots = {"conv1.weight": np.zeros((2, 6, 1, 5, 5), np.float32), "conv1.bias": np.zeros((2, 6), np.float32)}
    model.save(tmp_path / "m.npz")
    loaded = LeNet.load(tmp_path / "m.npz")
    assert loaded.metadata == model.metadata and loaded.class_names == [str(k) for k in range(10)]
    assert loaded.snapshots["conv1.bias"].shape == (2, 6)
