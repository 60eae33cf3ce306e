"""Optimisers (SGD with momentum, Adam) and learning-rate schedules.

An optimiser holds a list of :class:`~convfx.nn.layers.Parameter` (name, value,
gradient buffer) and updates the values in place from the gradients that the
layers' ``backward`` wrote; it keeps its own state (velocities, moments) per
parameter.  A schedule is a function of the step number.  Nothing here knows about
layers, models or data.

Weight decay is applied to the weights of convolutions and linear maps (arrays with
two or more axes) and not to biases, PReLU slopes or BatchNorm scales, whose decay
would only fight the fit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..checks import choice, in_range
from ..errors import ParameterError
from .config import OPTIMIZERS, SCHEDULES
from .layers import Parameter

__all__ = ["OPTIMIZERS", "SCHEDULES", "SGD", "Adam", "LearningRateSchedule", "make_optimizer"]


def _decays(parameter: Parameter) -> bool:
    return parameter.value.ndim >= 2


class SGD:
    """Stochastic gradient descent with (Nesterov) momentum and L2 weight decay.

    Per parameter ``p`` with gradient ``g`` (PyTorch's formulation)::

        g = g + weight_decay * p          (weights only)
        v = momentum * v + g
        p = p - lr * (g + momentum * v)   if nesterov else   p - lr * v

    Parameters
    ----------
    parameters : iterable of Parameter
        From ``model.parameters()``.
    lr : float
        Learning rate; may be changed between steps (schedules set ``optimizer.lr``).
    momentum : float, optional
        0 gives plain SGD.
    weight_decay : float, optional
        L2 penalty coefficient ``lambda`` (the loss gains ``lambda/2 * ||w||^2``).
    nesterov : bool, optional

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import SGD, Linear
    >>> layer = Linear(2, 1, rng=0)
    >>> optimizer = SGD(layer.parameters(), lr=0.1, momentum=0.0)
    >>> before = layer.params["bias"].copy()
    >>> layer.grads["bias"][:] = 1.0                      # as backward would leave it
    >>> optimizer.step()
    >>> layer.params["bias"] - before
    array([-0.1], dtype=float32)
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        *,
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        self.parameters = list(parameters)
        self.lr = in_range(lr, "lr", low=0.0)
        self.momentum = in_range(momentum, "momentum", low=0.0)
        self.weight_decay = in_range(weight_decay, "weight_decay", low=0.0)
        self.nesterov = bool(nesterov)
        self.velocities = [np.zeros_like(p.value) for p in self.parameters]

    def step(self) -> None:
        """Update every parameter in place from its gradient buffer."""
        for parameter, velocity in zip(self.parameters, self.velocities):
            value, grad = parameter.value, parameter.grad
            dtype = value.dtype.type
            if self.weight_decay and _decays(parameter):
                grad = grad + dtype(self.weight_decay) * value
            if self.momentum:
                velocity *= dtype(self.momentum)
                velocity += grad
                grad = grad + dtype(self.momentum) * velocity if self.nesterov else velocity
            value -= dtype(self.lr) * grad


class Adam:
    """Adam (Kingma & Ba 2015) with decoupled weight decay (AdamW, Loshchilov & Hutter).

    Per parameter, at step ``t``::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        p = p - lr * weight_decay * p                         (weights only)
        p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

    Decay is decoupled from the gradient because Adam's per-parameter scaling would
    otherwise weaken it exactly where gradients are large.

    Parameters
    ----------
    parameters : iterable of Parameter
    lr : float
    betas : (float, float), optional
    eps : float, optional
    weight_decay : float, optional
        Fraction of each weight removed per unit learning rate.

    Examples
    --------
    >>> import numpy as np
    >>> from convfx.nn import Adam, Linear
    >>> layer = Linear(2, 1, rng=0)
    >>> optimizer = Adam(layer.parameters(), lr=0.01)
    >>> before = layer.params["bias"].copy()
    >>> layer.grads["bias"][:] = 5.0
    >>> optimizer.step()                                  # the first step moves each weight by about lr
    >>> np.round(layer.params["bias"] - before, 4)
    array([-0.01], dtype=float32)
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.parameters = list(parameters)
        self.lr = in_range(lr, "lr", low=0.0)
        self.betas = (float(betas[0]), float(betas[1]))
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ParameterError(f"betas: expected two numbers in [0, 1), found {betas}")
        self.eps = in_range(eps, "eps", low=0.0)
        self.weight_decay = in_range(weight_decay, "weight_decay", low=0.0)
        self.first_moments = [np.zeros_like(p.value) for p in self.parameters]
        self.second_moments = [np.zeros_like(p.value) for p in self.parameters]
        self.steps = 0

    def step(self) -> None:
        """Update every parameter in place from its gradient buffer."""
        self.steps += 1
        beta1, beta2 = self.betas
        correction1 = 1 - beta1**self.steps
        correction2 = 1 - beta2**self.steps
        for parameter, m, v in zip(self.parameters, self.first_moments, self.second_moments):
            value, grad = parameter.value, parameter.grad
            dtype = value.dtype.type
            m *= dtype(beta1)
            m += dtype(1 - beta1) * grad
            v *= dtype(beta2)
            v += dtype(1 - beta2) * grad * grad
            if self.weight_decay and _decays(parameter):
                value *= dtype(1 - self.lr * self.weight_decay)
            denominator = np.sqrt(v / dtype(correction2)) + dtype(self.eps)
            value -= dtype(self.lr / correction1) * m / denominator


def make_optimizer(
    name: Literal["sgd", "adam"],
    parameters: Iterable[Parameter],
    *,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
) -> SGD | Adam:
    """An optimiser by name: ``"sgd"`` (with ``momentum``) or ``"adam"``.

    Parameters
    ----------
    name : {"sgd", "adam"}
    parameters : iterable of Parameter
        What the optimiser updates.
    lr : float
        The learning rate.
    weight_decay : float, optional
    momentum : float, optional
        For ``"sgd"`` only.

    Returns
    -------
    SGD or Adam
    """
    if choice(name, "optimizer", OPTIMIZERS) == "sgd":
        return SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return Adam(parameters, lr=lr, weight_decay=weight_decay)


@dataclass(frozen=True)
class LearningRateSchedule:
    """Learning rate as a function of the step number (0-based).

    A linear warm-up from ``base_lr / warmup_steps`` to ``base_lr`` over the first
    ``warmup_steps`` steps, then

    * ``"constant"`` -- ``base_lr``;
    * ``"step"`` -- ``base_lr * gamma ** (k // step_size)``, ``k`` counted after warm-up;
    * ``"cosine"`` -- half a cosine from ``base_lr`` down to ``final_lr`` at ``total_steps``.

    Parameters
    ----------
    kind : {"constant", "step", "cosine"}
    base_lr : float
    total_steps : int
        Steps in the whole run (used by ``"cosine"``).
    warmup_steps : int, optional
    step_size : int, optional
        Steps between decays for ``"step"`` (default: a third of the run).
    gamma : float, optional
        Decay factor for ``"step"``.
    final_lr : float, optional
        End point of ``"cosine"``.

    Examples
    --------
    >>> schedule = LearningRateSchedule("cosine", base_lr=0.1, total_steps=100)
    >>> schedule(0), round(schedule(50), 3), schedule(100)
    (0.1, 0.05, 0.0)
    """

    kind: Literal["constant", "step", "cosine"]
    base_lr: float
    total_steps: int
    warmup_steps: int = 0
    step_size: int | None = None
    gamma: float = 0.1
    final_lr: float = 0.0

    def __post_init__(self) -> None:
        choice(self.kind, "schedule", SCHEDULES)
        in_range(self.base_lr, "lr", low=0.0)
        if self.total_steps < 1 or self.warmup_steps < 0:
            raise ParameterError(
                f"schedule: expected total_steps >= 1 and warmup_steps >= 0, found {self.total_steps}, {self.warmup_steps}"
            )

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        k = step - self.warmup_steps
        if self.kind == "constant":
            return self.base_lr
        if self.kind == "step":
            size = self.step_size or max(1, (self.total_steps - self.warmup_steps) // 3)
            return self.base_lr * self.gamma ** (k // size)
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, k / span)
        return self.final_lr + 0.5 * (self.base_lr - self.final_lr) * (1 + math.cos(math.pi * progress))
