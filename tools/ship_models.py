"""Retrain the LeNet-5 models shipped in ``convfx/models/`` and rewrite their training records.

Run from anywhere, with convfx installed from this checkout (``pip install -e .``)::

    python tools/ship_models.py                    # every model
    python tools/ship_models.py photos             # one
    python tools/ship_models.py --records digits   # rewrite a record without retraining

A developer tool, not part of the installed package.  Three models are shipped so
that ``convfx compare``, ``learned:``, ``summary``, ``tour`` and the README
figures work out of the box (``photos`` is the default where no model is named):

=====================  ===========================================================  =========
file                   data                                                         channels
=====================  ===========================================================  =========
``lenet_photos.npz``   ``photos``: which of 14 bundled photos a 32x32 patch comes    1 (gray)
                       from, exposure-varied training patches
``lenet_digits.npz``   ``digits``: scikit-learn's 8x8 digits upscaled to 32x32,      1 (gray)
                       fixed split
``lenet_shapes.npz``   ``shapes``: procedural RGB shapes, seed 0                     3 (RGB)
=====================  ===========================================================  =========

Each is trained by the project's own ``convfx train`` with the options in
:data:`MODELS` (about 20 s, 30 s and 2 min on 2 cores).  The options are spelled
out in full so that a later change of ``convfx train``'s defaults does not
silently change the models.  ``--workers`` is part of the recipe: the
data-parallel threads combine gradients in a fixed order, so results are
reproducible for a given seed *and* number of workers (and, to the last digits,
BLAS).

What matters for the kernels: for digits and shapes, the weight decay of 0.02
(without it the first layer barely moves from its random start, and its kernels
score hardly above random ones), random shifts of up to 2 pixels and the cosine
schedule; for photos, the exposure variation of the training patches and a
short run (12 epochs, weight decay 0.01), after which most conv1 kernels are
edge detectors.  The photos model is seed 0, the default, not a chosen seed.

Each ``.npz`` is the :meth:`convfx.nn.LeNet.save` format (PyTorch state-dict
names, no pickle) and holds conv1 after every epoch (``--snapshots``) for
``convfx compare --evolution``.  The ``.json`` written next to it records the
command, the training configuration, the first :data:`RECORDED_STEPS` step
losses (``tests/test_compare.py`` retrains one epoch and checks it gets the same
ones), the held-out accuracy and the kernel similarity scores of
``convfx compare``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from convfx import compare
from convfx.nn import LeNet

__all__ = ["ROOT", "MODELS_DIRECTORY", "RECORDED_STEPS", "MODELS", "ship", "write_record", "main"]

#: The repository, where ``convfx train`` runs and the recorded command's paths start.
ROOT = Path(__file__).resolve().parent.parent
#: Where the shipped models live in the source tree (the wheel's ``convfx/models``).
MODELS_DIRECTORY = ROOT / "convfx" / "models"
#: Step losses kept in each record.
RECORDED_STEPS = 20

#: ``convfx train`` options of each shipped model, spelled out in full so that a
#: change of the defaults does not silently change the model.
MODELS = {
    "photos": [
        "--dataset", "photos", "--epochs", "12", "--batch-size", "64", "--optimizer", "sgd", "--lr", "0.05",
        "--weight-decay", "0.01", "--schedule", "cosine", "--shift", "2", "--activation", "relu",
        "--pooling", "max", "--seed", "0", "--workers", "2", "--snapshots",
    ],
    "digits": [
        "--dataset", "digits", "--epochs", "60", "--batch-size", "64", "--optimizer", "sgd", "--lr", "0.05",
        "--weight-decay", "0.02", "--schedule", "cosine", "--shift", "2", "--activation", "relu",
        "--pooling", "max", "--seed", "0", "--workers", "2", "--snapshots",
    ],
    "shapes": [
        "--dataset", "shapes", "--epochs", "60", "--batch-size", "64", "--optimizer", "sgd", "--lr", "0.05",
        "--weight-decay", "0.02", "--schedule", "cosine", "--shift", "2", "--activation", "relu",
        "--pooling", "max", "--seed", "0", "--workers", "2", "--snapshots",
    ],
}  # fmt: skip

# The TrainConfig fields the options above set, as saved in the model's metadata.
_CONFIG_FIELDS = (
    "epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "schedule", "warmup_epochs",
    "shift", "activation", "pooling", "seed", "workers",
)  # fmt: skip


def ship(name: str) -> dict:
    """Train model ``name`` with ``convfx train`` and write its ``.npz`` and ``.json``.

    Returns
    -------
    dict
        The record written to ``lenet_<name>.json`` (:func:`write_record`).
    """
    path = MODELS_DIRECTORY / f"lenet_{name}.npz"
    arguments = [*MODELS[name], "-o", path.relative_to(ROOT).as_posix(), "--force"]
    subprocess.run([sys.executable, "-m", "convfx", "train", *arguments], cwd=ROOT, check=True)
    return write_record(name)


def write_record(name: str) -> dict:
    """Write ``lenet_<name>.json`` for the shipped ``lenet_<name>.npz`` as it is (nothing is trained).

    Returns
    -------
    dict
        The record: command, data set, configuration, first step losses,
        held-out accuracy, similarity scores and kernel classes.
    """
    path = MODELS_DIRECTORY / f"lenet_{name}.npz"
    arguments = [*MODELS[name], "-o", path.relative_to(ROOT).as_posix(), "--force"]
    model = LeNet.load(path)
    result = compare.compare_model(path)
    record = {
        "command": "convfx train " + " ".join(arguments),
        "dataset": str(model.metadata["dataset"]),
        "config": {
            **{key: model.metadata[key] for key in _CONFIG_FIELDS if key in model.metadata},
            "activation": model.activation,
            "pooling": model.pooling,
        },
        "first_losses": [float(v) for v in np.asarray(model.history["loss"][:RECORDED_STEPS])],
        "test_accuracy": result.accuracy,
        "similarity": {
            "score": result.score,
            "baseline_mean": result.baseline.mean,
            "baseline_sd": result.baseline.sd,
            "plain_score": result.plain_score,
            "plain_baseline_mean": result.plain_baseline.mean,
            "plain_baseline_sd": result.plain_baseline.sd,
            "matches": [[m.name, m.transform, m.sign, round(m.similarity, 4)] for m in result.matches],
            "plain_matches": [[m.name, round(m.similarity, 4)] for m in result.plain_matches],
        },
        "kernel_classes": {
            "edge_detectors": result.edge_detectors,
            "random_mean_edge_detectors": result.class_baseline.mean_edge_detectors,
            "classes": [
                [c.kind, round(c.mean_ratio, 4), c.derivative, round(c.derivative_similarity, 4), round(c.relative_norm, 4)]
                for c in result.classes
            ],
        },
    }
    path.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def main(arguments: list[str]) -> None:
    """Ship the named models (all of :data:`MODELS` when none is named) and print their scores.

    ``--records`` first: rewrite the records of the models as they are, without training.
    """
    records_only = bool(arguments) and arguments[0] == "--records"
    names = arguments[1:] if records_only else arguments
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        raise SystemExit(f"ship_models: unknown model(s) {unknown}; expected some of {list(MODELS)}")
    for name in names or list(MODELS):
        record = write_record(name) if records_only else ship(name)
        similarity, classes = record["similarity"], record["kernel_classes"]
        print(
            f"{name}: accuracy {record['test_accuracy']:.4f}, similarity {similarity['score']:.3f} "
            f"(random {similarity['baseline_mean']:.3f}), plain {similarity['plain_score']:.3f} "
            f"(random {similarity['plain_baseline_mean']:.3f}), edge detectors {classes['edge_detectors']} of "
            f"{len(classes['classes'])} (random {classes['random_mean_edge_detectors']:.2f})"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
