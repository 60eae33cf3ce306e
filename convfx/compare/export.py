"""Learned kernels written as a filter-bank TOML file (``convfx export-bank``).

This module must not match more than the descriptions need, nor draw or print.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from .. import imageio
from ..errors import ParameterError
from ..nn.weights import ConvWeights
from .matching import match_kernels

_BANK_NAME = re.compile(r"[^a-z0-9_]+")


def _toml_number(value: float) -> str:
    text = repr(float(value))
    return text if any(ch in text for ch in ".en") else text + ".0"


def export_bank(
    weights: ConvWeights,
    path: str | os.PathLike,
    *,
    prefix: str = "learned",
    overwrite: bool = False,
) -> Path:
    """Write learned kernels as a filter-bank TOML file (the schema of :mod:`convfx.banks`).

    Entry ``{prefix}_{k}`` is kernel ``k`` summed over its input channels: what it
    does to a gray image (for a gray model, the kernel itself).  An RGB model
    also gets ``{prefix}_{k}_r``, ``_g`` and ``_b``, one per channel.  Every entry
    is a correlation kernel with output range ``normalize``; the description names
    the model and the best classic match.  The bias is not part of a bank kernel.

    Parameters
    ----------
    weights : ConvWeights
        From :func:`convfx.nn.weights.load_weights`.
    path : path-like
        A ``.toml`` file, written atomically.
    prefix : str, optional
        Lower-case start of every entry name.
    overwrite : bool, optional

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        ``path`` not ``.toml`` or ``prefix`` not a valid filter name start.
    FileError
        Cannot write; :class:`convfx.imageio.OutputExistsError` if it exists and not ``overwrite``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import convfx
    >>> from convfx.compare import export_bank
    >>> from convfx.nn import load_weights
    >>> path = export_bank(load_weights("digits"), Path(tempfile.mkdtemp()) / "learned.toml")
    >>> sorted(convfx.load_bank(path))
    ['learned_0', 'learned_1', 'learned_2', 'learned_3', 'learned_4', 'learned_5']
    """
    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise ParameterError(f"output: {path}: expected a .toml file, found {path.suffix or '(no suffix)'!r}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", prefix):
        raise ParameterError(f"prefix: expected lower-case letters, digits and _ starting with a letter, found {prefix!r}")
    matches = match_kernels(weights.weight)
    lines = [
        f"# Learned kernels of {weights.source} ({weights.key}, shape {tuple(weights.weight.shape)}),",
        "# written by `convfx export-bank`: correlation kernels, as the conv layer applies them.",
        "",
    ]
    channel_names = "rgb" if weights.channels == 3 else None
    for k, kernel in enumerate(weights.weight.astype(np.float64)):
        match = matches[k]
        entries = [(f"{prefix}_{k}", kernel.sum(axis=0), "summed over input channels" if weights.channels > 1 else "")]
        if channel_names:
            entries += [(f"{prefix}_{k}_{channel_names[c]}", kernel[c], f"{'RGB'[c]} channel") for c in range(3)]
        for name, matrix, what in entries:
            description = f"kernel {k} of {Path(weights.source).name}" + (f", {what}" if what else "")
            description += (
                f"; closest classic {match.name} ({match.transform}, sign {match.sign:+d}), similarity {match.similarity:.2f}"
            )
            lines.append(f"[{name}]")
            lines.append(f"description = {json.dumps(description)}")
            lines.append("matrix = [")
            lines += ["  [" + ", ".join(_toml_number(v) for v in row) + "]," for row in matrix]
            lines.append("]")
            lines.append('operation = "correlate"')
            lines.append('range = "normalize"')
            lines.append("")
    return imageio.write_bytes_atomically(path, "\n".join(lines).encode("utf-8"), overwrite=overwrite)
