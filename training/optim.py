"""Optimisers and gradient clipping: the model returns gradients, training clips them and steps.

Parameters, gradients and every optimiser's state are dicts keyed by the parameter names,
so one loop over the names serves them all. The learning rate comes from the schedule at
each step, so an optimiser holds none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from model.rnn import Params
from training.config import TrainingConfig


class Optimizer(Protocol):
    def step(self, params: Params, grads: Params, learning_rate: float) -> None:
        """Update params in place from grads; grads may be overwritten."""


class SGD:
    """p <- p - learning_rate * dp: the assignment's optimiser, which keeps no state."""

    def step(self, params: Params, grads: Params, learning_rate: float) -> None:
        for name, grad in grads.items():
            grad *= learning_rate
            params[name] -= grad


@dataclass
class Adam:
    """Adam (Kingma and Ba, 2015) with bias-corrected moments m and v, keyed like params."""

    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    steps: int = 0
    m: Params = field(default_factory=dict)
    v: Params = field(default_factory=dict)

    def step(self, params: Params, grads: Params, learning_rate: float) -> None:
        self.steps += 1
        correction1 = 1 - self.beta1**self.steps
        correction2 = 1 - self.beta2**self.steps
        for name, grad in grads.items():
            m = self.m.setdefault(name, np.zeros_like(params[name]))
            v = self.v.setdefault(name, np.zeros_like(params[name]))
            m *= self.beta1
            m += (1 - self.beta1) * grad
            v *= self.beta2
            v += (1 - self.beta2) * grad * grad
            params[name] -= learning_rate * (m / correction1) / (np.sqrt(v / correction2) + self.epsilon)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def clip_values(grads: Params, limit: float) -> None:
    """Clip each gradient entry to [-limit, limit], in place (the assignment's clipping)."""
    for grad in grads.values():
        np.clip(grad, -limit, limit, out=grad)


def clip_global_norm(grads: Params, max_norm: float) -> float:
    """Scale all gradients together so that their joint L2 norm is at most max_norm, in place;
    returns the norm before clipping."""
    norm = float(np.sqrt(sum(float(np.vdot(grad, grad)) for grad in grads.values())))
    if norm > max_norm:
        for grad in grads.values():
            grad *= max_norm / norm
    return norm


@dataclass(frozen=True)
class Clipping:
    """Elementwise clipping to +-value, then global-norm clipping to norm; None turns either off."""

    value: float | None = None
    norm: float | None = None

    @classmethod
    def of(cls, config: TrainingConfig) -> Clipping:
        """The recipe's clipping: --clip and --clip-norm, 0 for off."""
        return cls(value=config.clip or None, norm=config.clip_norm or None)

    def __call__(self, grads: Params) -> None:
        if self.value is not None:
            clip_values(grads, self.value)
        if self.norm is not None:
            clip_global_norm(grads, self.norm)


NO_CLIPPING = Clipping()
