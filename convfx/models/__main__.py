"""Rebuild the models shipped in ``convfx/models/`` and their training records.

Run from the repository root::

    python -m convfx.models            # both models
    python -m convfx.models digits     # one

Each model is trained by the project's own ``convfx train`` with the exact
options in :data:`MODELS` (fixed seeds), then ``<name>.json`` is written next to
it: the command, the training configuration, the first :data:`RECORDED_STEPS`
step losses (``tests/test_compare.py`` retrains briefly and checks it gets the
same ones), the held-out accuracy and the kernel similarity scores of
``convfx compare``.  Results are reproducible on one machine; another BLAS may
change the last digits of the losses.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from convfx import compare
from convfx.models import DIRECTORY
from convfx.nn import LeNet

ROOT = DIRECTORY.parent.parent
RECORDED_STEPS = 20

#: ``convfx train`` options of each shipped model, spelled out in full so that a
#: change of the defaults does not silently change the model.
MODELS = {
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
}

# The TrainConfig fields the options above set, as saved in the model's metadata.
_CONFIG_FIELDS = (
    "epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "schedule", "warmup_epochs",
    "shift", "activation", "pooling", "seed", "workers",
)


def ship(name: str) -> dict:
    """Train model ``name`` with ``convfx train`` and write its ``.npz`` and ``.json``."""
    path = DIRECTORY / f"lenet_{name}.npz"
    arguments = [*MODELS[name], "-o", str(path.relative_to(ROOT)), "--force"]
    subprocess.run([sys.executable, "-m", "convfx", "train", *arguments], cwd=ROOT, check=True)
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
    }
    path.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def main(names: list[str]) -> None:
    for name in names or list(MODELS):
        record = ship(name)
        similarity = record["similarity"]
        print(
            f"{name}: accuracy {record['test_accuracy']:.4f}, similarity {similarity['score']:.3f} "
            f"(random {similarity['baseline_mean']:.3f}), plain {similarity['plain_score']:.3f} "
            f"(random {similarity['plain_baseline_mean']:.3f})"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
