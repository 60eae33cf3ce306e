"""Learned kernels for the page: a model's first-layer kernels beside their nearest classic kernels.

The models on offer are the shipped ones (``photos``, ``digits``, ``shapes``) and
the one file named with ``convfx studio --model``; a request picks one by key,
never by path.  Each is described from :func:`convfx.compare.compare_model`, the
data behind ``convfx compare``: per kernel its weights, bias and norm, its best
classic match with the similarity, and its class (edge detector, smoothing,
other: :mod:`convfx.kernel_classes`).

This module must not filter images, draw, or know about HTTP.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import compare
from ..compare import Comparison
from ..models import SHIPPED_MODELS

__all__ = ["offered_models", "describe_model"]


def offered_models(model: str | os.PathLike | None = None) -> dict[str, str]:
    """The models a studio offers: key -> what ``learned:`` and :func:`convfx.nn.weights.load_weights` take.

    Parameters
    ----------
    model : str or path-like, optional
        ``--model`` from the command line: a shipped name (already offered) or a
        model file, offered under the key ``"model"``.

    Returns
    -------
    dict of str to str
        The shipped models by name, then the command line's file.
    """
    models = {name: name for name in SHIPPED_MODELS}
    if model is not None and os.fspath(model) not in models:
        models["model"] = os.fspath(model)
    return models


def _matrix(array: np.ndarray) -> list[list[float]]:
    return np.asarray(array, dtype=np.float64).tolist()


def describe_model(key: str, model: str, comparison: Comparison | None = None) -> dict[str, Any]:
    """What the page shows of a model: every first-layer kernel with its nearest classic.

    Parameters
    ----------
    key : str
        The model's key in :func:`offered_models`.
    model : str
        What :func:`convfx.compare.compare_model` takes.
    comparison : convfx.compare.Comparison, optional
        Already computed (it takes about a second: the baseline draws 1000 random banks).

    Returns
    -------
    dict
        JSON-ready: the model's label, shape, channels, accuracy, score and
        baseline, and per kernel its weights ``(C, kh, kw)``, channel mean, bias,
        norm, best match (name, similarity, transform, sign, the transformed
        classic) and class (:mod:`convfx.kernel_classes`: edge detector, smoothing or other).
    """
    result = comparison if comparison is not None else compare.compare_model(model)
    weights = result.weights
    kernels = []
    for match, found, kernel, bias in zip(
        result.matches, result.classes, np.asarray(weights.weight, dtype=np.float64), weights.bias
    ):
        kernels.append(
            {
                "index": match.index,
                "weights": _matrix(kernel.reshape(-1, *kernel.shape[-2:])),
                "mean": _matrix(kernel.mean(axis=0)),
                "bias": float(bias),
                "norm": match.norm,
                "match": {
                    "name": match.name,
                    "similarity": match.similarity,
                    "transform": match.transform,
                    "sign": match.sign,
                    "classic": _matrix(match.classic),
                    "channel_similarity": list(match.channel_similarity),
                },
                "class": found.kind,
            }
        )
    return {
        "key": key,
        "label": Path(weights.source).name if key == "model" else key,
        "layer": weights.key,
        "shape": [int(n) for n in weights.weight.shape],
        "channels": weights.channels,
        "accuracy": result.accuracy,
        "score": result.score,
        "baseline": {"mean": result.baseline.mean, "sd": result.baseline.sd, "draws": result.baseline.draws},
        "kernels": kernels,
    }
