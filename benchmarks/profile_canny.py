"""Where convfx.canny's time goes, stage by stage, beside OpenCV's steps.

Reproduce with (from the repository root, the test extra installed)::

    python benchmarks/profile_canny.py [--calls 25] [--stages compiled|numpy]

The same two 1920x1080 RGB uint8 images as ``bench_edges.py`` (``sparse``: the
bundled astronaut photo; ``dense``: scikit-image's ``immunohistochemistry``),
sigma 1, thresholds 0.1 / 0.2.  ``convfx.canny`` runs ``--calls`` times with a
``time.perf_counter`` wrapped around each stage it calls (the conversion to
luminance, the Gaussian, each Sobel, the magnitude with non-maximum
suppression, hysteresis).  The image is worked on in strips, two threads at a
time: a stage's time is summed over its strips, so it is thread time, and the
stages add up to more than the call; ``total`` is the call's wall time.
``--stages`` as for ``bench_edges.py``: numba's compiled loops (the default) or
numpy's.  After each call,
OpenCV's steps (``cvtColor``, ``GaussianBlur``, ``Canny(L2gradient=True)``) run
once, timed the same way, so both see the same load.  The tables give the
median milliseconds of each stage, and the share of the pixels each stage
works on: those at or above the low threshold (where non-maximum suppression
matters) and the candidates hysteresis labels.

Only the wrapping is done here: the stages are convfx's own functions, called by
``convfx.canny`` as usual, so the edges are those of an unwrapped call.
"""

from __future__ import annotations

import argparse
import math
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import skimage.data

import convfx
from convfx.edges import engines, gradient

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SIGMA, LOW, HIGH = 1.0, 0.1, 0.2
# The names convfx.edges.gradient calls, in the order it calls them; the filters
# it applies through effects.apply are named after the filter.
STAGES = ("_canny_input", "gaussian_blur", "sobel_x", "sobel_y", "suppress_strip", "hysteresis")


def timed(function: Callable[..., Any], name: Callable[..., str], seconds: dict[str, float]) -> Callable[..., Any]:
    """``function``, adding the seconds of each call to ``seconds[name(*args)]`` (from any thread)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = function(*args, **kwargs)
        elapsed = time.perf_counter() - start
        with lock:
            seconds[name(*args)] += elapsed
        return result

    return wrapper


lock = threading.Lock()


def opencv_steps(rgb: np.ndarray, steps: dict[str, list[float]]) -> None:
    """One run of OpenCV's steps on ``rgb``, adding the seconds of each to ``steps``."""
    start = time.perf_counter()
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    converted = time.perf_counter()
    blurred = cv2.GaussianBlur(gray, (0, 0), SIGMA)
    smoothed = time.perf_counter()
    cv2.Canny(blurred, LOW * 255, HIGH * 255, L2gradient=True)
    end = time.perf_counter()
    for name, seconds in (("cvtColor", converted - start), ("GaussianBlur", smoothed - converted),
                          ("Canny", end - smoothed), ("total", end - start)):  # fmt: skip
        steps[name].append(seconds)


def profile(rgb: np.ndarray, calls: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median milliseconds per stage of convfx.canny and of OpenCV's steps on ``rgb``."""
    seconds: dict[str, list[float]] = defaultdict(list)
    steps: dict[str, list[float]] = defaultdict(list)
    originals = {name: getattr(gradient, name) for name in ("_canny_input", "suppress_strip", "hysteresis")}
    apply_original = gradient.effects.apply
    call_seconds: dict[str, float] = defaultdict(float)

    try:
        for name, function in originals.items():
            setattr(gradient, name, timed(function, lambda *args, name=name: name, call_seconds))
        gradient.effects.apply = timed(apply_original, lambda image, effect: effect.name, call_seconds)
        for call in range(calls + 1):  # the first, a warm-up, is not counted
            call_seconds.clear()
            start = time.perf_counter()
            convfx.canny(rgb, sigma=SIGMA, low=LOW, high=HIGH)
            total = time.perf_counter() - start
            opencv_steps(rgb, steps)
            if call == 0:
                steps.clear()
                continue
            for name in STAGES:
                seconds[name].append(call_seconds[name])
            seconds["total"].append(total)
    finally:
        for name, function in originals.items():
            setattr(gradient, name, function)
        gradient.effects.apply = apply_original
    ours = {name: statistics.median(values) * 1000 for name, values in seconds.items()}
    theirs = {name: statistics.median(values) * 1000 for name, values in steps.items()}
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=25, help="timed calls per image (default 25)")
    parser.add_argument("--stages", choices=("compiled", "numpy"), default="compiled", help="Canny's per-pixel stages")
    args = parser.parse_args()
    engines.COMPILE_AFTER_PIXELS = 0 if args.stages == "compiled" else math.inf
    sources = {
        "sparse": convfx.read_image(SAMPLES / "astronaut.jpg").pixels,
        "dense": skimage.data.immunohistochemistry(),
    }
    print(f"# python benchmarks/profile_canny.py --calls {args.calls} --stages {args.stages}")
    print(f"1920x1080x3 uint8, sigma={SIGMA:g}, low={LOW:g}, high={HIGH:g}; cv2 threads {cv2.getNumThreads()}; "
          "median ms per stage")  # fmt: skip
    for image_name, pixels in sources.items():
        rgb = np.ascontiguousarray(cv2.resize(pixels, (1920, 1080), interpolation=cv2.INTER_CUBIC))
        ours, theirs = profile(rgb, args.calls)
        stages = convfx.canny_stages(rgb, sigma=SIGMA, low=LOW, high=HIGH)
        above_low = float((stages.magnitude >= LOW).mean() * 100)
        candidates = float((stages.suppressed >= LOW).mean() * 100)
        print()
        print(f"{image_name}: {above_low:.1f} % of the pixels reach the low threshold, "
              f"{candidates:.1f} % are candidates after suppression")  # fmt: skip
        print("| convfx stage | ms | OpenCV step | ms |")
        print("|---|---:|---|---:|")
        ours_rows = [(name, ours[name]) for name in (*STAGES, "total")]
        theirs_rows = list(theirs.items())
        for index, (name, value) in enumerate(ours_rows):
            their_name, their_value = theirs_rows[index] if index < len(theirs_rows) else ("", None)
            their_text = "" if their_value is None else f"{their_value:.2f}"
            if name == "total":
                their_name, their_text = "total", f"{theirs['total']:.2f}"
            elif their_name == "total":
                their_name, their_text = "", ""
            print(f"| {name} | {value:.2f} | {their_name} | {their_text} |")


if __name__ == "__main__":
    main()
