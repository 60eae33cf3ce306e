"""Learned vs classic kernels: matching, similarity scores, baselines, bank export.

The question this package answers with numbers: do a CNN's first-layer kernels
resemble the hand-made kernels of the filter banks (Sobel, Laplacian, Gaussian...)?

* :func:`match_kernels` finds, for every learned kernel ``(C, kh, kw)``, the closest
  classic kernel (allowing the 8 rotations/flips of the square and either sign);
* :func:`baseline` gives the same score for random kernels drawn from the
  training initialisation, which is what makes the number mean something;
* :func:`compare_model` bundles it for ``convfx compare``, reading the weights
  with :func:`convfx.nn.weights.load_weights`, with each kernel's class (edge
  detector, smoothing, other: :mod:`convfx.kernel_classes`) and the number of
  edge detectors next to that of random kernels;
* :func:`export_bank` writes learned kernels as a filter-bank TOML file.

Learned filters applied to photos (``learned:MODEL``) are :mod:`convfx.learned`;
the reference kernels (standard 5x5 set, symmetries, resampling) are
:mod:`convfx.kernel_sets`, re-exported here under their names.

Similarity, the one definition used everywhere
----------------------------------------------
For a learned kernel :math:`w` (shape ``(C, kh, kw)``) and a classic kernel
:math:`k` (``(kh, kw)``), both flattened::

    similarity = | <w_bar, k> | / (||w_bar|| ||k||)      w_bar = mean of w over its C channels

i.e. the absolute cosine: 1 for the same pattern up to scale and sign, 0 for
orthogonal patterns.  For a gray kernel (C = 1) ``w_bar`` is the kernel itself.
For an RGB kernel the channel mean is *the* score because it is, up to a factor
C, what the kernel does to a gray (achromatic) image: edges of brightness.  The
per-channel values ``|cos(w[c], k)|`` (against the same matched, transformed
classic) are reported alongside; a colour-opponent kernel can have high
per-channel values and a low channel-mean score.  The best match maximises the
similarity over every classic kernel and, with ``transforms=True``, over the 8
symmetries of the square (:data:`TRANSFORMS`); a zero kernel scores 0.

The similarity says "looks like some classic kernel", blurs included: a bank of
smooth blobs scores high.  Whether a kernel is an *edge detector* (close to zero
mean and like a derivative) is the kernel classes' question, answered in
:attr:`Comparison.classes`.

The package, by job:

* :mod:`.matching` -- the classic kernel sets, :func:`match_kernels`,
  :func:`mean_similarity` and :func:`baseline`;
* :mod:`.comparison` -- :func:`compare_model` and the evolution over training;
* :mod:`.export` -- :func:`export_bank`.

Nothing here may draw (:mod:`convfx.plots`), print, train models, slide kernels
or read model files itself (:mod:`convfx.nn.weights` does).
"""

from __future__ import annotations

from ..kernel_sets import STANDARD_DERIVATIVE, STANDARD_SMOOTHING, TRANSFORMS, resample_kernel, standard_kernels, transform_kernel

# Not in __all__, kept importable from here as before: the weights compared, the classics argument type.
from ..nn.weights import ConvWeights as ConvWeights
from .comparison import EVOLUTION_COLUMNS, Comparison, compare_model, evolution_scores, evolution_table
from .export import export_bank
from .matching import Baseline, Match, bank_kernels, baseline, classic_kernels, match_kernels, mean_similarity
from .matching import ClassicsLike as ClassicsLike

__all__ = [
    "TRANSFORMS",
    "STANDARD_SMOOTHING",
    "STANDARD_DERIVATIVE",
    "Match",
    "Baseline",
    "Comparison",
    "standard_kernels",
    "bank_kernels",
    "classic_kernels",
    "resample_kernel",
    "transform_kernel",
    "match_kernels",
    "mean_similarity",
    "baseline",
    "compare_model",
    "evolution_scores",
    "evolution_table",
    "EVOLUTION_COLUMNS",
    "export_bank",
]
