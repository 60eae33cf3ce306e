"""Optimisers, schedules, the training step and loop, evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from convfx import ParameterError
from convfx.nn import SGD, Adam, Dataset, LearningRateSchedule, LeNet, TrainConfig, confusion_matrix, evaluate, load_digits, train
from convfx.nn.layers import Parameter
from convfx.nn.training import TrainStep, random_shift


@pytest.fixture(scope="module")
def small_digits() -> Dataset:
    """256 training and 120 test digits: enough to see learning in a second."""
    data = load_digits()
    return Dataset(
        "digits",
        data.train_images[:256],
        data.train_labels[:256],
        data.test_images[:120],
        data.test_labels[:120],
        data.class_names,
    )


def _parameter(value, grad) -> Parameter:
    return Parameter("w", np.array(value, dtype=np.float64), np.array(grad, dtype=np.float64))


def test_sgd_momentum_and_weight_decay_follow_pytorch_formulas():
    weight = _parameter([[1.0, -2.0]], [[0.5, 0.5]])
    bias = _parameter([3.0], [1.0])
    optimizer = SGD([weight, bias], lr=0.1, momentum=0.9, weight_decay=0.01)
    optimizer.step()
    # v = g + wd * w (weights only); p -= lr * v
    np.testing.assert_allclose(weight.value, [[1 - 0.1 * (0.5 + 0.01), -2 - 0.1 * (0.5 - 0.02)]])
    np.testing.assert_allclose(bias.value, [3 - 0.1 * 1.0])
    optimizer.step()
    v1 = np.array([0.51, 0.48])
    w1 = np.array([1 - 0.051, -2 - 0.048])
    v2 = 0.9 * v1 + (0.5 + 0.01 * w1)
    np.testing.assert_allclose(weight.value[0], w1 - 0.1 * v2)


def test_adam_first_step_is_lr_times_sign_and_decay_is_decoupled():
    weight = _parameter([[1.0, -1.0, 2.0]], [[3.0, -0.001, 0.0]])
    optimizer = Adam([weight], lr=0.01, weight_decay=0.5)
    optimizer.step()
    decayed = np.array([1.0, -1.0, 2.0]) * (1 - 0.01 * 0.5)
    np.testing.assert_allclose(weight.value[0], decayed - 0.01 * np.array([1.0, -1.0, 0.0]), rtol=1e-6)


def test_schedules():
    cosine = LearningRateSchedule("cosine", base_lr=1.0, total_steps=10, warmup_steps=2)
    assert [cosine(0), cosine(1)] == [0.5, 1.0]
    assert cosine(2) == 1.0 and cosine(6) == pytest.approx(0.5) and cosine(10) == pytest.approx(0.0)
    step = LearningRateSchedule("step", base_lr=1.0, total_steps=9, step_size=3, gamma=0.5)
    assert [step(k) for k in (0, 2, 3, 6, 8)] == [1.0, 1.0, 0.5, 0.25, 0.25]
    assert LearningRateSchedule("constant", base_lr=0.3, total_steps=5)(4) == 0.3
    with pytest.raises(ParameterError, match="schedule.*'linear'"):
        LearningRateSchedule("linear", base_lr=1.0, total_steps=5)


def test_random_shift_moves_whole_images(rng):
    images = np.zeros((50, 2, 9, 9), np.float32)
    images[:, :, 4, 4] = 1.0
    shifted = random_shift(images, 2, rng)
    assert shifted.shape == images.shape
    rows, columns = np.nonzero(shifted[:, 0].reshape(50, 9, 9).sum(axis=0))
    assert set(rows) == set(range(2, 7)) and set(columns) == set(range(2, 7))
    # Both channels move together, and each image keeps its single bright pixel.
    np.testing.assert_array_equal(shifted[:, 0], shifted[:, 1])
    assert np.all(shifted.reshape(50, -1).sum(axis=1) == 2.0)
    assert random_shift(images, 0, rng) is images


def test_parallel_step_equals_one_worker(rng):
    x = rng.random((37, 1, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, 37)
    single = LeNet(1, 10, seed=1, dtype=np.float64)
    double = LeNet(1, 10, seed=1, dtype=np.float64)
    losses = []
    for model, workers in ((single, 1), (double, 2)):
        with TrainStep(model, SGD(model.parameters(), lr=0.1), workers=workers) as step:
            loss, logits = step(x.astype(np.float64), y)
        losses.append(loss)
        assert logits.shape == (37, 10)
    assert losses[0] == pytest.approx(losses[1], rel=1e-12)
    for (name, a, ga), (_, b, gb) in zip(single.parameters(), double.parameters()):
        np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-14, err_msg=name)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14, err_msg=name)


@pytest.mark.slow
def test_training_is_reproducible_and_learns(small_digits):
    config = TrainConfig(epochs=3, batch_size=32, seed=4, snapshots=True)
    first = train(small_digits, config)
    second = train(small_digits, config)
    np.testing.assert_array_equal(first.history["loss"], second.history["loss"])
    np.testing.assert_array_equal(first.model.layers["fc3"].params["weight"], second.model.layers["fc3"].params["weight"])
    other = train(small_digits, TrainConfig(epochs=1, batch_size=32, seed=5))
    assert not np.array_equal(other.history["loss"][:8], first.history["loss"][:8])

    history = first.history
    assert history["loss"].shape == (24,) and history["test_accuracy"].shape == (3,)
    assert history["loss"][-8:].mean() < history["loss"][:8].mean()
    assert first.test_accuracy > 0.6
    assert first.model.snapshots["conv1.weight"].shape == (4, 6, 1, 5, 5)
    np.testing.assert_array_equal(first.model.snapshots["conv1.weight"][-1], first.model.layers["conv1"].params["weight"])
    assert first.model.metadata["dataset"] == "digits" and first.model.metadata["seed"] == 4
    assert first.model.metadata["test_accuracy"] == pytest.approx(first.test_accuracy)
    assert first.model.input_mean.shape == (1,) and 0 < first.model.input_mean[0] < 0.5


def test_progress_callback_sees_every_step(small_digits):
    events = []
    train(small_digits, TrainConfig(epochs=2, batch_size=100, optimizer="adam", lr=1e-3), progress=events.append)
    assert [(e.epoch, e.step) for e in events] == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    assert [e.test_accuracy is not None for e in events] == [False, False, True, False, False, True]


def test_training_errors(small_digits):
    with pytest.raises(ParameterError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ParameterError, match="shift"):
        TrainConfig(shift=-1)
    with pytest.raises(ParameterError, match="optimizer.*'rmsprop'"):
        train(small_digits, TrainConfig(epochs=1, optimizer="rmsprop"))
    with pytest.raises(ParameterError, match="diverged"):
        train(small_digits, TrainConfig(epochs=1, lr=1e4, warmup_epochs=0, weight_decay=0.0))


def test_evaluate_and_confusion_matrix(small_digits):
    matrix = confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    model = LeNet(1, 10, seed=0)
    result = evaluate(model, small_digits.test_images, small_digits.test_labels)
    assert result.total == 120 and result.confusion.shape == (10, 10)
    assert result.accuracy == pytest.approx(result.correct / 120)
    with pytest.raises(ParameterError, match="3-channel"):
        evaluate(LeNet(3, 10), small_digits.test_images, small_digits.test_labels)


@pytest.mark.parametrize("seed", [-1, 2**63, 10**20, 1.5, True, "3", None])
def test_seed_must_be_an_int_that_the_model_file_can_record(seed):
    with pytest.raises(ParameterError, match=r"^seed: expected an int in \[0, 2\*\*63 - 1\], found ") as info:
        TrainConfig(seed=seed)
    assert "\n" not in str(info.value)


def test_largest_seeds_are_accepted_and_saved(tmp_path, small_digits):
    for seed in (0, np.int64(5), np.uint64(2**63 - 1)):
        assert TrainConfig(seed=seed).seed == seed
    d = small_digits
    one_step = Dataset("digits", d.train_images[:8], d.train_labels[:8], d.test_images[:4], d.test_labels[:4], d.class_names)
    result = train(one_step, TrainConfig(epochs=1, batch_size=8, seed=2**63 - 1, workers=1))
    saved = LeNet.load(result.model.save(tmp_path / "big_seed.npz"))
    assert saved.metadata["seed"] == 2**63 - 1


def test_training_refuses_a_data_set_without_held_out_images(small_digits):
    d = small_digits
    no_test = Dataset("folder", d.train_images[:8], d.train_labels[:8], d.test_images[:0], d.test_labels[:0], d.class_names)
    with pytest.raises(ParameterError, match="^dataset: folder has no held-out images"):
        train(no_test, TrainConfig(epochs=1, batch_size=8))


def test_evaluation_data_is_the_recorded_data_set_or_the_named_one():
    from convfx.nn.training import evaluation_data

    model = LeNet(1, 10, seed=0)
    with pytest.raises(ParameterError, match=r"^dataset: m\.npz does not record its data set; name one$"):
        evaluation_data(model, source="m.npz")
    model.metadata["dataset"] = "digits"
    data = evaluation_data(model, source="m.npz")
    assert data.name == "digits" and data.num_classes == 10
    # shapes has 8 classes: a 10-class model cannot be evaluated on it.
    with pytest.raises(ParameterError, match=r"^dataset: shapes has 8 classes but m\.npz predicts 10$"):
        evaluation_data(model, "shapes", source="m.npz")
