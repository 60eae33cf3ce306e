"""Speed of convfx.correlate against the libraries people would otherwise call.

Runs, in one process on the same 1920x1080x3 float32 image, convfx and each anchor
(cv2.filter2D, scipy.ndimage.correlate, scipy.signal.oaconvolve) and prints the
ratio convfx time / anchor time (< 1 means convfx is faster): medians of repeated
runs in alternating rounds, and against filter2D also the median (and quartiles)
of the ratios within back-to-back pairs of calls, which the targets use.
Machines here are noisy, so only ratios measured side by side in one run mean
anything.

    python benchmarks/bench_conv.py [--repeats 7] [--pairs 301] [--kernels '3x3 random'] [--quick]

Targets: 3x3 <= 1.05x and 5x5 <= 1.1x cv2.filter2D; 31x31 Gaussian (separable)
<= 0.25x min(filter2D, oaconvolve); 31x31 random <= 1.1x min(filter2D, oaconvolve).
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
import scipy.ndimage
import scipy.signal

import convfx
from convfx.conv import choose_backend


def gaussian(size: int, sigma: float) -> np.ndarray:
    column = cv2.getGaussianKernel(size, sigma).astype(np.float64)
    return column @ column.T


def time_interleaved(functions: dict, repeats: int, rounds: int = 3) -> dict[str, list[float]]:
    """Seconds per call of each function, every run.

    Each round runs every function ``repeats`` times in a row (after one warm-up
    call, so the anchor that ran before it does not leave its caches and threads
    to be paid for), and the rounds alternate so that drift hits all alike.
    """
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            function()
            for _ in range(repeats):
                start = time.perf_counter()
                function()
                times[name].append(time.perf_counter() - start)
    return times


def paired_ratios(ours, anchor, pairs: int) -> list[float]:
    """``ours`` time / ``anchor`` time for ``pairs`` back-to-back pairs of calls, the order alternating.

    Two calls a millisecond apart see the same load on a shared machine, so the
    ratio within a pair is steadier than a ratio of separate medians.
    """
    ours(), anchor()
    ratios = []
    for index in range(pairs):
        first, second = (ours, anchor) if index % 2 == 0 else (anchor, ours)
        start = time.perf_counter()
        first()
        middle = time.perf_counter()
        second()
        end = time.perf_counter()
        ours_time, anchor_time = (middle - start, end - middle) if index % 2 == 0 else (end - middle, middle - start)
        ratios.append(ours_time / anchor_time)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a 480x270 image, 3 repeats (smoke test)")
    parser.add_argument("--pairs", type=int, default=301, help="back-to-back pairs for the ratio to filter2D")
    parser.add_argument("--kernels", default="", help="only these rows, comma-separated (e.g. '3x3 random')")
    args = parser.parse_args()
    height, width = (270, 480) if args.quick else (1080, 1920)
    repeats = 3 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    image = rng.random((height, width, 3), dtype=np.float32)
    cases = {
        "3x3 random": (rng.standard_normal((3, 3)), 1.05, "filter2D"),
        "5x5 random": (rng.standard_normal((5, 5)), 1.1, "filter2D"),
        "31x31 Gaussian": (gaussian(31, 5.0), 0.25, "min(filter2D, oaconvolve)"),
        "31x31 random": (rng.standard_normal((31, 31)), 1.1, "min(filter2D, oaconvolve)"),
    }
    print(f"image {height}x{width}x3 float32, 3 alternating rounds x {repeats} runs, boundary reflect (BORDER_REFLECT_101)")
    shown = f" --kernels '{args.kernels}'" if args.kernels else ""
    print(
        f"command: python benchmarks/bench_conv.py --repeats {repeats} --pairs {args.pairs}{shown}{' --quick' if args.quick else ''}"
    )
    print()
    print(
        "| kernel | backend | convfx ms | / filter2D, paired (quartiles) | / filter2D (medians) | / filter2D (mins) | / ndimage.correlate | / oaconvolve | target |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    chosen = [name.strip() for name in args.kernels.split(",") if name.strip()] or list(cases)
    for name, (kernel, target, anchor) in ((name, cases[name]) for name in chosen):
        k32 = kernel.astype(np.float32)
        functions = {
            "convfx": lambda: convfx.correlate(image, kernel, boundary="reflect"),
            "filter2D": lambda: cv2.filter2D(image, -1, k32, borderType=cv2.BORDER_REFLECT_101),
            "ndimage": lambda: scipy.ndimage.correlate(image, k32[:, :, None], mode="mirror"),
            "oaconvolve": lambda: scipy.signal.oaconvolve(image, k32[::-1, ::-1, None], mode="same", axes=(0, 1)),
        }
        runs = time_interleaved(functions, repeats)
        t = {name: statistics.median(values) for name, values in runs.items()}
        fastest = {name: min(values) for name, values in runs.items()}
        ratio = {other: t["convfx"] / t[other] for other in ("filter2D", "ndimage", "oaconvolve")}
        best_ratio = fastest["convfx"] / fastest["filter2D"]
        pairs = paired_ratios(functions["convfx"], functions["filter2D"], 31 if args.quick else args.pairs)
        paired = statistics.median(pairs)
        spread = statistics.quantiles(pairs, n=4)
        goal = paired if anchor == "filter2D" else t["convfx"] / min(t["filter2D"], t["oaconvolve"])
        verdict = "met" if goal <= target else "MISSED"
        backend = choose_backend(image.shape, kernel.shape, kernel=kernel, dtype=np.dtype(np.float32))
        print(
            f"| {name} | {backend} | {t['convfx'] * 1e3:.2f} | {paired:.3f} ({spread[0]:.3f}..{spread[2]:.3f}) "
            f"| {ratio['filter2D']:.3f} | {best_ratio:.3f} | {ratio['ndimage']:.3f} "
            f"| {ratio['oaconvolve']:.3f} | <= {target} x {anchor}: {goal:.2f} {verdict} |"
        )

    if args.kernels:
        return
    print()
    print("Channel-summing banks (the CNN case), convfx only, per backend:")
    print()
    print("| bank (F, kh, kw, C) | auto picks | auto ms | filter2d ms | im2col ms | fft ms |")
    print("|---|---|---:|---:|---:|---:|")
    for shape in [(6, 5, 5, 3), (16, 3, 3, 3), (4, 31, 31, 3)]:
        bank = rng.standard_normal(shape)
        functions = {b: (lambda b=b: convfx.correlate(image, bank, backend=b)) for b in ("auto", "filter2d", "im2col", "fft")}
        t = {name: statistics.median(values) for name, values in time_interleaved(functions, max(1, repeats // 2)).items()}
        picked = choose_backend(image.shape, shape, summed=True)
        print(
            f"| {shape} | {picked} | {t['auto'] * 1e3:.0f} | {t['filter2d'] * 1e3:.0f} | {t['im2col'] * 1e3:.0f} | {t['fft'] * 1e3:.0f} |"
        )


if __name__ == "__main__":
    main()
