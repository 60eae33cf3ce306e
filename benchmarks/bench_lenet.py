"""How fast and how good convfx's numpy LeNet-5 is.

1. The default ``convfx train`` recipe on ``digits``: held-out accuracy and training
   time (target: >= 98.5 % in <= 60 s on 2 cores); on ``photos`` (its defaults,
   ``TrainConfig.for_dataset``): held-out accuracy, conv1's edge detectors and
   training time (target: <= 60 s on 2 cores).
2. With PyTorch installed: one training step (forward, cross-entropy, backward,
   SGD-momentum update) of the same LeNet on the same batch of 64 float32 1x32x32
   images, numpy vs PyTorch CPU, and the ratio numpy time / PyTorch time (target:
   <= 1.5).  The two run in alternating rounds in one process and the medians are
   compared, because the machines here are noisy; PyTorch uses its default threads,
   convfx its training setting (BLAS on one thread, see ``single_threaded_blas``).

    python benchmarks/bench_lenet.py [--skip-train] [--datasets digits,photos] [--rounds 7] [--steps 50]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np

from convfx.kernel_classes import classify_kernels, count_edge_detectors
from convfx.nn import LeNet, TrainConfig, load_dataset, train
from convfx.nn.optim import SGD
from convfx.nn.training import TrainStep, single_threaded_blas

BATCH = 64


def numpy_step_function(x: np.ndarray, y: np.ndarray, workers: int):
    """convfx's training step exactly as ``train()`` runs it."""
    model = LeNet(1, 10, seed=0)
    optimizer = SGD(model.parameters(), lr=0.01, momentum=0.9)
    step = TrainStep(model, optimizer, workers=workers)
    return (lambda: step(x, y)), model


def torch_step_function(x: np.ndarray, y: np.ndarray, model: LeNet):
    import torch
    from torch import nn
    from torch.nn import functional

    class TorchLeNet(nn.Module):
        """The textbook LeNet the README's loading snippet uses."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(400, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, t):
            t = functional.max_pool2d(functional.relu(self.conv1(t)), 2)
            t = functional.max_pool2d(functional.relu(self.conv2(t)), 2)
            t = torch.flatten(t, 1)
            return self.fc3(functional.relu(self.fc2(functional.relu(self.fc1(t)))))

    net = TorchLeNet()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items() if not k.startswith("convfx.")})
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        functional.cross_entropy(net(tx), ty).backward()
        optimizer.step()

    return step, torch.get_num_threads(), torch.__version__


def time_interleaved(functions: dict, steps: int, rounds: int) -> dict[str, list[float]]:
    """Per-step seconds of each function, one value per round; rounds alternate.

    ``functions`` maps a name to ``(step, context)``: each round of ``step`` runs
    inside a fresh ``context()`` (convfx's training loop also enters its BLAS
    setting once, not per step).
    """
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, (function, context) in functions.items():
            with context():
                for _ in range(5):  # warm caches and thread pools after the other one ran
                    function()
                start = time.perf_counter()
                for _ in range(steps):
                    function()
                times[name].append((time.perf_counter() - start) / steps)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-train", action="store_true", help="only the train-step throughput")
    parser.add_argument("--datasets", default="digits,photos", help="data sets to train on (default digits,photos)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=50, help="train steps per round")
    args = parser.parse_args()

    if not args.skip_train:
        for name in args.datasets.split(","):
            config = TrainConfig.for_dataset(name)
            started = time.perf_counter()
            dataset = load_dataset(name)
            result = train(dataset, config)
            total = time.perf_counter() - started
            edges = count_edge_detectors(classify_kernels(result.model.layers["conv1"].params["weight"]))
            print(
                f"{name}, default `convfx train` ({config.epochs} epochs, batch {config.batch_size}, {config.optimizer} "
                f"lr {config.lr}, weight decay {config.weight_decay}, {config.schedule}, shift {config.shift}, seed {config.seed}): "
                f"held-out accuracy {result.test_accuracy:.2%} "
                f"({int(round(result.test_accuracy * len(dataset.test_labels)))}/{len(dataset.test_labels)}), "
                f"{edges} of 6 conv1 kernels edge detectors, training {result.seconds:.1f} s, with data loading {total:.1f} s"
            )

    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 1, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    workers = TrainConfig().workers
    numpy_step, model = numpy_step_function(x, y, workers)
    numpy_single, _ = numpy_step_function(x, y, 1)
    functions = {
        f"numpy ({workers} workers)": (numpy_step, single_threaded_blas),
        "numpy (1 worker)": (numpy_single, single_threaded_blas),
    }
    try:
        torch_step, threads, version = torch_step_function(x, y, model)
    except ImportError:
        version = None
    else:
        functions[f"PyTorch ({threads} threads)"] = (torch_step, contextlib.nullcontext)
        functions["PyTorch (1 thread)"] = (torch_step, torch_threads(1))
    times = time_interleaved(functions, args.steps, args.rounds)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"train step, batch {BATCH}, float32, 1x32x32, median of {args.rounds} alternating rounds of {args.steps} steps:")
    for name, value in median.items():
        print(f"  {name:<22} {value * 1e3:6.2f} ms")
    if version is None:
        print("  (PyTorch not installed: no ratio)")
        return
    names = list(functions)
    for ours, theirs, label in ((names[0], names[2], "default settings"), (names[1], names[3], "one core each")):
        ratios = [a / b for a, b in zip(times[ours], times[theirs])]
        print(
            f"ratio numpy/PyTorch {version}, {label}: {median[ours] / median[theirs]:.2f} "
            f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}; target <= 1.5)"
        )


def torch_threads(count: int):
    """A context factory running PyTorch on ``count`` threads, then restoring its default."""
    import torch

    @contextlib.contextmanager
    def context():
        default = torch.get_num_threads()
        torch.set_num_threads(count)
        try:
            yield
        finally:
            torch.set_num_threads(default)

    return context


if __name__ == "__main__":
    main()
