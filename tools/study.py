"""Reproduce the study table: on which data does LeNet's conv1 learn edge detectors?

Run from anywhere, with convfx installed from this checkout (``pip install -e .``)::

    python tools/study.py                          # about 10 minutes on 2 cores
    python tools/study.py --cifar ~/data/cifar-10-batches-bin --out study.md
    python tools/study.py --seeds 0,1 --rows photos,photos-rgb

A developer tool, not part of the installed package and not a test.  For every
data set of :data:`ROWS` (and CIFAR-10 when ``--cifar`` names a folder of its
binary files) and every seed, it trains the textbook LeNet-5 with the recipe of
the row, one run at a time, and reports:

* the held-out accuracy, with chance (the largest class's share of the held-out set);
* how many of conv1's 6 kernels are edge detectors (:mod:`convfx.kernel_classes`),
  the median and the count of every seed, next to the same rule's count on random
  initialisations (1,000 banks); RGB rows also give the channel-mean reading;
* the similarity scores of ``convfx compare`` (best match over every classic kernel
  with rotations; the plain score against the six standard 5x5 kernels), each with
  its random baseline;
* the training time, wall clock and CPU (the machine may be shared: wall times are
  upper bounds).

The markdown goes to ``--out`` (default ``study.md``) and to standard output.
Nothing is downloaded; the models are not kept.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Row", "ROWS", "rows_for", "run_row", "study", "main"]


@dataclass(frozen=True)
class Row:
    """One data set of the study and the training recipe used on it."""

    label: str
    load: Callable[[], Any]  # () -> convfx.nn.dataset.Dataset
    config: Callable[[], dict[str, Any]]  # TrainConfig options, seed and workers aside
    recipe: str = ""


def _photos(**options: Any) -> Callable[[], Any]:
    def load() -> Any:
        from convfx.nn.photos import load_photos

        return load_photos(**options)

    return load


def _named(spec: str) -> Callable[[], Any]:
    def load() -> Any:
        from convfx.nn import load_dataset

        return load_dataset(spec)

    return load


def _defaults(spec: str, **changes: Any) -> Callable[[], dict[str, Any]]:
    """The options ``convfx train --dataset SPEC`` uses (:meth:`TrainConfig.for_dataset`), with ``changes``."""

    def config() -> dict[str, Any]:
        from convfx.nn.config import DATASET_DEFAULTS, dataset_defaults_key

        return {**DATASET_DEFAULTS.get(dataset_defaults_key(spec), {}), **changes}

    return config


#: The study's rows by name: what ``--rows`` selects.  shapes runs 20 epochs rather
#: than its default 60 to keep the study near ten minutes; every photos row uses
#: the library's photos defaults, so the table describes ``convfx train --dataset photos``.
ROWS: dict[str, Row] = {
    "digits": Row("digits", _named("digits"), _defaults("digits"), "`convfx train` defaults (the shipped digits recipe)"),
    "shapes": Row(
        "shapes", _named("shapes"), _defaults("shapes", epochs=20), "defaults but 20 epochs (the shipped model has 60)"
    ),
    "photos": Row("photos (gray)", _named("photos"), _defaults("photos"), "`convfx train --dataset photos` defaults"),
    "photos-rgb": Row(
        "photos (RGB)", _named("photos-rgb"), _defaults("photos-rgb"), "`convfx train --dataset photos-rgb` defaults"
    ),
    "photos-plain": Row(
        "photos (gray), no exposure variation",
        _photos(exposure=False),
        _defaults("photos"),
        "the same without the training patches' exposure variation",
    ),
}


def rows_for(names: list[str], cifar: str | None) -> list[Row]:
    """The rows to run: ``names`` of :data:`ROWS`, then CIFAR-10 if a folder is given."""
    unknown = [name for name in names if name not in ROWS]
    if unknown:
        raise SystemExit(f"study: unknown row(s) {unknown}; expected some of {list(ROWS)}")
    rows = [ROWS[name] for name in names]
    if cifar:

        def load_cifar() -> Any:
            from convfx.nn.cifar import load_cifar10

            return load_cifar10(cifar, max_train=10_000)

        rows.append(Row("CIFAR-10", load_cifar, _defaults("photos"), "first 10,000 training images, the photos recipe (untuned)"))
    return rows


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_row(row: Row, seeds: list[int], *, workers: int, draws: int) -> tuple[str, list[str]]:
    """Train ``row`` once per seed; its summary line and one detail line per seed (markdown)."""
    import numpy as np

    from convfx import compare
    from convfx.kernel_classes import classify_kernels, count_edge_detectors, random_baseline
    from convfx.nn import TrainConfig, train

    data = row.load()
    chance = float(np.bincount(data.test_labels).max() / len(data.test_labels))
    runs, detail = [], []
    for seed in seeds:
        config = TrainConfig(**{**row.config(), "seed": seed, "workers": workers})
        wall, cpu = time.perf_counter(), _cpu_seconds()
        result = train(data, config)
        wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
        weight = result.model.layers["conv1"].params["weight"]
        classes = classify_kernels(weight)
        run = {
            "accuracy": result.test_accuracy,
            "edges": count_edge_detectors(classes),
            "kinds": "".join(c.kind[0] for c in classes),
            "score": compare.mean_similarity(compare.match_kernels(weight)),
            "plain": compare.mean_similarity(compare.match_kernels(weight, classics="standard", transforms=False)),
            "wall": wall,
            "cpu": cpu,
            "epochs": config.epochs,
        }
        if data.channels > 1:
            run["edges_mean"] = count_edge_detectors(classify_kernels(weight, channels="mean"))
        runs.append(run)
        mean_reading = f"; channel mean {run['edges_mean']}" if "edges_mean" in run else ""
        detail.append(
            f"| {row.label} | {seed} | {run['accuracy']:.1%} | {run['edges']} ({run['kinds']}){mean_reading} "
            f"| {run['score']:.3f} | {run['plain']:.3f} | {wall:.1f} / {cpu:.1f} |"
        )
        print(detail[-1], file=sys.stderr, flush=True)
    shape = (6, data.channels, 5, 5)
    similarity = compare.baseline(shape, draws=draws)
    plain = compare.baseline(shape, classics="standard", transforms=False, draws=draws)
    random_edges = f"{random_baseline(shape, draws=draws).mean_edge_detectors:.2f}"
    if data.channels > 1:
        random_edges += f" (channel mean {random_baseline(shape, draws=draws, channels='mean').mean_edge_detectors:.2f})"
    edges = [run["edges"] for run in runs]
    accuracies = [run["accuracy"] for run in runs]
    epochs = runs[0]["epochs"]
    summary = (
        f"| {row.label} | {len(data.train_labels):,} / {len(data.test_labels):,} | {data.num_classes} ({chance:.1%}) "
        f"| {statistics.median(accuracies):.1%} ({min(accuracies):.1%}-{max(accuracies):.1%}) "
        f"| **{statistics.median(edges):g}** ({', '.join(map(str, edges))}) | {random_edges} "
        f"| {statistics.median(run['score'] for run in runs):.3f} | {similarity} "
        f"| {statistics.median(run['plain'] for run in runs):.3f} | {plain} "
        f"| {statistics.median(run['wall'] for run in runs):.0f} / {statistics.median(run['cpu'] for run in runs):.0f} "
        f"| {epochs} epochs; {row.recipe} |"
    )
    return summary, detail


def study(rows: list[Row], seeds: list[int], *, workers: int = 2, draws: int = 1000, command: str = "") -> str:
    """Run every row and return the markdown: the summary table, then every seed."""
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    summaries, details = [], []
    for row in rows:
        summary, detail = run_row(row, seeds, workers=workers, draws=draws)
        summaries.append(summary)
        details += detail
    wall, cpu = (time.perf_counter() - started) / 60, (_cpu_seconds() - cpu_started) / 60
    return "\n".join(
        [
            f"Command: `{command}` ({wall:.1f} min wall, {cpu:.1f} min CPU, {workers} worker threads; seeds "
            f"{', '.join(map(str, seeds))}).",
            "",
            "| data set | train / test | classes (chance) | held-out accuracy, median (range) "
            "| edge detectors of 6, median (per seed) | random | similarity | random | plain | random "
            "| train s, wall / CPU | recipe |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *summaries,
            "",
            "Per seed (kernels: e edge detector, s smoothing, o other):",
            "",
            "| data set | seed | accuracy | edge detectors | similarity | plain | train s, wall / CPU |",
            "|---|---|---|---|---|---|---|",
            *details,
            "",
        ]
    )


def main(arguments: list[str] | None = None) -> str:
    """Parse the command line, run the study, write and print the markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cifar", help="folder of the CIFAR-10 binary files (data_batch_*.bin, test_batch.bin)")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated training seeds (default 0-4)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows (default all: {','.join(ROWS)})")
    parser.add_argument("--workers", type=int, default=2, help="threads per training run (default 2)")
    parser.add_argument("--draws", type=int, default=1000, help="random banks for each baseline (default 1000)")
    parser.add_argument("--out", type=Path, default=Path("study.md"), help="markdown file to write (default study.md)")
    options = parser.parse_args(arguments)
    seeds = [int(seed) for seed in options.seeds.split(",")]
    rows = rows_for([name for name in options.rows.split(",") if name], options.cifar)
    command = "python tools/study.py" + " ".join(
        [""]
        + ([f"--cifar {options.cifar}"] if options.cifar else [])
        + ([f"--seeds {options.seeds}"] if options.seeds != "0,1,2,3,4" else [])
        + ([f"--rows {options.rows}"] if options.rows != ",".join(ROWS) else [])
    )
    text = study(rows, seeds, workers=options.workers, draws=options.draws, command=command)
    options.out.write_text(text, encoding="utf-8")
    print(text)
    return text


if __name__ == "__main__":
    main()
