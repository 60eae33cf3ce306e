"""Speed of convfx.canny against cv2.Canny and skimage.feature.canny, side by side.

Reproduce with (from the repository root, the test extra installed)::

    python benchmarks/bench_edges.py [--repeats 15] [--quick] [--stages compiled|numpy]

Two 1920x1080 RGB uint8 images, each resized with cv2.INTER_CUBIC:

* ``sparse``  a bundled photo (``samples/astronaut.jpg``): about a quarter of
              the pixels reach the low threshold;
* ``dense``   scikit-image's ``immunohistochemistry`` texture (bundled with
              scikit-image): about half of them do.

Every contender goes from the RGB image to a binary edge map with sigma 1 and
thresholds 0.1 / 0.2 of full scale, colour conversion included:

* convfx   ``convfx.canny(rgb)`` (luminance), or ``mode="per_channel"``;
* OpenCV   ``cvtColor`` + ``GaussianBlur`` (same sigma) + ``Canny(L2gradient=True)``
           with the thresholds times 255; for per-channel, ``Canny`` on the blurred
           RGB (it keeps the strongest channel's gradient, as convfx does);
* skimage  the same BT.601 luminance (``convfx.color.to_luminance``, timed) / 255,
           then ``skimage.feature.canny(gray, sigma=1, 0.1, 0.2, mode="mirror")``.

Each row times convfx and its anchor in pairs, one call of each in turn, after a
warm-up call of both, ``--repeats`` times, in this one process: the table gives
the minimum and median milliseconds of each, and the ratio convfx / anchor
(< 1: convfx is faster) as the median of the pairs' ratios and as the ratio of
the minima.  ``--stages`` picks the implementation of Canny's per-pixel
stages: ``compiled`` (the default), numba's loops, which a process uses once
Canny has worked on ``convfx.edges.engines.COMPILE_AFTER_PIXELS`` pixels (a
long batch, a server, a notebook); ``numpy``, what a process uses before that
(one photo from the command line).  Machines here are shared, so only ratios measured side by side mean
anything; run it a few times to see their spread.  The last column counts the
pixels where the anchor's map differs from convfx's.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import skimage.data
import skimage.feature

import convfx
from convfx.color import to_luminance
from convfx.edges import engines

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SIGMA, LOW, HIGH = 1.0, 0.1, 0.2


def opencv(image: np.ndarray) -> np.ndarray:
    """cv2.Canny after cv2's Gaussian, on a gray or RGB uint8 image."""
    blurred = cv2.GaussianBlur(image, (0, 0), SIGMA)
    return cv2.Canny(blurred, LOW * 255, HIGH * 255, L2gradient=True) > 0


def calls(
    rgb: np.ndarray, options: dict, anchor: Callable[[np.ndarray], np.ndarray]
) -> tuple[Callable[[], np.ndarray], Callable[[], np.ndarray]]:
    """convfx.canny and the anchor on ``rgb``, as calls without arguments."""
    return (lambda: convfx.canny(rgb, sigma=SIGMA, low=LOW, high=HIGH, **options)), (lambda: anchor(rgb))


def time_pairs(ours: Callable[[], object], anchor: Callable[[], object], repeats: int) -> tuple[list[float], list[float]]:
    """Seconds per call of ``ours`` and ``anchor``, timed alternately ``repeats`` times."""
    ours()
    anchor()
    mine, theirs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ours()
        middle = time.perf_counter()
        anchor()
        mine.append(middle - start)
        theirs.append(time.perf_counter() - middle)
    return mine, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15, help="pairs of calls per row (default 15)")
    parser.add_argument("--quick", action="store_true", help="480x270 images, 3 repeats (smoke test)")
    parser.add_argument("--stages", choices=("compiled", "numpy"), default="compiled", help="Canny's per-pixel stages")
    args = parser.parse_args()
    engines.COMPILE_AFTER_PIXELS = 0 if args.stages == "compiled" else math.inf
    width, height = (480, 270) if args.quick else (1920, 1080)
    repeats = 3 if args.quick else args.repeats
    sources = {
        "sparse": convfx.read_image(SAMPLES / "astronaut.jpg").pixels,
        "dense": skimage.data.immunohistochemistry(),
    }
    images = {
        name: np.ascontiguousarray(cv2.resize(pixels, (width, height), interpolation=cv2.INTER_CUBIC))
        for name, pixels in sources.items()
    }

    def skimage_canny(rgb: np.ndarray) -> np.ndarray:
        gray = to_luminance(rgb) / 255
        return skimage.feature.canny(gray, sigma=SIGMA, low_threshold=LOW, high_threshold=HIGH, mode="mirror")

    rows = [
        # image, contender, convfx call, anchor call, goal
        ("sparse", "cv2.Canny (gray)", {}, lambda rgb: opencv(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)), "<= 2"),
        ("sparse", "skimage.feature.canny", {}, skimage_canny, "<= 0.5"),
        ("dense", "skimage.feature.canny", {}, skimage_canny, "<= 0.5"),
        ("dense", "cv2.Canny (gray)", {}, lambda rgb: opencv(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)), ""),
        ("sparse", "cv2.Canny (RGB), per_channel", {"mode": "per_channel"}, opencv, ""),
    ]
    print(
        "# python benchmarks/bench_edges.py"
        + (" --quick" if args.quick else f" --repeats {repeats}")
        + f" --stages {args.stages}"
    )
    print(f"images {height}x{width}x3 uint8: sparse = samples/astronaut.jpg, dense = skimage.data.immunohistochemistry(); "
          f"sigma={SIGMA:g}, low={LOW:g}, high={HIGH:g}; {repeats} pairs per row, cv2 threads {cv2.getNumThreads()}")  # fmt: skip
    print()
    print(
        "| image | anchor | convfx ms min / median | anchor ms min / median "
        "| convfx / anchor: median of pairs (ratio of minima) | goal | pixels differing |"
    )
    print("|---|---|---:|---:|---:|---|---:|")
    for image_name, anchor_name, options, anchor, goal in rows:
        ours, theirs_call = calls(images[image_name], options, anchor)
        mine, theirs = time_pairs(ours, theirs_call, repeats)
        ratio = statistics.median(m / t for m, t in zip(mine, theirs))
        differ = (ours() != theirs_call()).mean() * 100
        print(f"| {image_name} | {anchor_name} "
              f"| {min(mine) * 1000:.1f} / {statistics.median(mine) * 1000:.1f} "
              f"| {min(theirs) * 1000:.1f} / {statistics.median(theirs) * 1000:.1f} "
              f"| {ratio:.2f} ({min(mine) / min(theirs):.2f}) | {goal} | {differ:.3f} % |")  # fmt: skip
    print()
    print("skimage differs mostly in the one-pixel frame it never marks (see tests/test_edges.py);")
    print("OpenCV blurs and differentiates 8-bit rounded pixels with its own Gaussian and quantises")
    print("the gradient direction to 4 bins, hence its larger difference.")


if __name__ == "__main__":
    main()
