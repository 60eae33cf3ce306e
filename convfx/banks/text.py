"""A filter as text: what ``convfx show`` prints.

This module must not load, build or apply filters.
"""

from __future__ import annotations

import numpy as np

from ..kernels import format_number
from .model import Filter
from .registry import factory_parameters

__all__ = ["format_matrix", "format_filter"]


def format_matrix(matrix: np.ndarray, indent: str = "  ") -> list[str]:
    """The rows of ``matrix``, right-aligned, each value in the shortest exact form.

    Parameters
    ----------
    matrix : ndarray, shape (kh, kw)
    indent : str, optional
        Put before every row.

    Returns
    -------
    list of str
        One line per row.
    """
    cells = [[format_number(v) for v in row] for row in matrix]
    width = max(len(c) for row in cells for c in row)
    return [indent + " ".join(c.rjust(width) for c in row) for row in cells]


def format_filter(filter: Filter) -> str:
    """A readable description of ``filter`` with the exact kernels it applies.

    Every kernel is printed as the correlation kernel that touches the pixels
    (rotated by 180 degrees if it was written for convolution), with each value
    in the shortest form that reads back exactly; when a scale such as ``1/16``
    was written, the unscaled matrix is shown too.

    Parameters
    ----------
    filter : Filter

    Returns
    -------
    str
        Several lines.
    """
    lines = [
        f"{filter.name}  ({filter.family}, {filter.size_label}, range {filter.output_range}{', gray' if filter.gray else ''})"
    ]
    if filter.description:
        lines.append(filter.description)
    if filter.parameters:
        lines.append("parameters: " + ", ".join(f"{k}={format_number(v)}" for k, v in filter.parameters.items()))
    elif filter.factory:
        lines.append(
            f"parameters: {', '.join(factory_parameters(filter))} (e.g. {filter.name}:{factory_parameters(filter)[0]}=2)"
        )
    if filter.combine:
        rule = {"magnitude": "sqrt of the sum of squares", "max": "the largest", "difference": "the first minus the second"}
        lines.append(f"combine: {filter.combine} ({rule[filter.combine]}) of the responses to:")
    for kernel in filter.kernels:
        lines.append("")
        flipped = " (the bank's convolution kernel rotated 180 degrees)" if kernel.operation == "convolve" else ""
        label = f"{kernel.name}: " if filter.combine else ""
        lines.append(f"{label}correlation kernel {kernel.shape[0]}x{kernel.shape[1]}{flipped}, as applied to the pixels:")
        lines.extend(format_matrix(kernel.weights))
        if kernel.scale != 1.0:
            unscaled = kernel.values[::-1, ::-1] if kernel.operation == "convolve" else kernel.values
            lines.append(f"= {kernel.scale_text} x")
            lines.extend(format_matrix(unscaled))
    return "\n".join(lines)
