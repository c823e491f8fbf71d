"""BPTT gradients against central finite differences and against complex-step derivatives.

The complex-step derivative  dL/dp = Im L(p + i h) / h  is forward-mode automatic
differentiation of an independent implementation of the loss (written below, one step at a
time, with one-hot vectors); it is exact to rounding, so it checks the gradients to 1e-8.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from model import numerics, rnn
from model import rnn_reference as reference

SHAPES = [(seq_len, batch) for seq_len in (1, 2, 5, 10, 25) for batch in (1, 3)]
N_IN, N_HIDDEN, N_OUT = 7, 6, 5


def perturbed_params(seed: int) -> rnn.Params:
    params = rnn.init_params(N_IN, N_HIDDEN, N_OUT, seed=seed)
    rng = np.random.default_rng(seed + 100)
    # Non-zero biases so that every gradient entry is exercised; b shifted up so that
    # most hidden units are active and ReLU kinks are far from every evaluation point.
    params["b"] = 0.3 + 0.1 * rng.standard_normal(N_HIDDEN)
    params["c"] = 0.1 * rng.standard_normal(N_OUT)
    return params


def batch_of(seq_len: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, N_IN, (batch, seq_len)), rng.integers(0, N_OUT, (batch, seq_len))


def reference_loss(params: rnn.Params, inputs: np.ndarray, targets: np.ndarray) -> complex:
    """The assignment's loss, step by step with one-hot x_t; works on complex parameters."""
    U, W, V, b, c = (params[name] for name in rnn.PARAM_NAMES)
    total: complex = 0
    for sequence, target_sequence in zip(inputs, targets, strict=True):
        h = np.zeros(W.shape[0], dtype=W.dtype)
        for x_index, target in zip(sequence, target_sequence, strict=True):
            x = np.zeros(U.shape[1])
            x[x_index] = 1.0
            a = U @ x + W @ h + b
            h = np.where(a.real > 0, a, 0)
            z = V @ h + c
            total += -(z[target] - np.log(np.sum(np.exp(z))))
    return total / inputs.shape[0]


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(float(np.linalg.norm(a) + np.linalg.norm(b)), 1e-300))


@pytest.mark.parametrize(("seq_len", "batch"), SHAPES)
def test_gradients_match_central_differences(seq_len: int, batch: int) -> None:
    params = perturbed_params(seq_len * 10 + batch)
    inputs, targets = batch_of(seq_len, batch, seed=seq_len + batch)
    _, grads = rnn.loss_and_grads(params, inputs, targets)
    step = 1e-5
    for name in rnn.PARAM_NAMES:
        numeric = np.zeros_like(params[name])
        for index in np.ndindex(params[name].shape):
            original = params[name][index]
            params[name][index] = original + step
            loss_plus, _ = rnn.loss_and_grads(params, inputs, targets)
            params[name][index] = original - step
            loss_minus, _ = rnn.loss_and_grads(params, inputs, targets)
            params[name][index] = original
            numeric[index] = (loss_plus - loss_minus) / (2 * step)
        assert grads[name].shape == params[name].shape
        assert relative_error(grads[name], numeric) < 1e-6, name


@pytest.mark.parametrize(
    "loss_and_grads", [rnn.loss_and_grads, reference.loss_and_grads], ids=["fast", "reference"]
)
@pytest.mark.parametrize(("seq_len", "batch"), SHAPES)
def test_gradients_match_complex_step_autodiff(
    seq_len: int, batch: int, loss_and_grads: Callable[..., tuple[float, rnn.Params]]
) -> None:
    params = perturbed_params(seq_len * 10 + batch + 1)
    inputs, targets = batch_of(seq_len, batch, seed=seq_len * batch + 7)
    loss, grads = loss_and_grads(params, inputs, targets)
    assert loss == pytest.approx(reference_loss(params, inputs, targets).real, rel=1e-12)
    step = 1e-20
    for name in rnn.PARAM_NAMES:
        derivative = np.zeros_like(params[name])
        complex_params = {key: value.astype(np.complex128) for key, value in params.items()}
        for index in np.ndindex(params[name].shape):
            complex_params[name][index] += 1j * step
            derivative[index] = reference_loss(complex_params, inputs, targets).imag / step
            complex_params[name][index] -= 1j * step
        assert relative_error(grads[name], derivative) < 1e-8, name


def test_gradients_match_pytorch_autograd_when_installed() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is the optional 'bench' extra")
    params = perturbed_params(3)
    inputs, targets = batch_of(10, 3, seed=4)
    _, grads = rnn.loss_and_grads(params, inputs, targets)
    tensors = {
        name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in params.items()
    }
    h = torch.zeros(3, N_HIDDEN, dtype=torch.float64)
    loss = torch.zeros((), dtype=torch.float64)
    for t in range(10):
        h = torch.relu(tensors["U"][:, inputs[:, t]].T + h @ tensors["W"].T + tensors["b"])
        z = h @ tensors["V"].T + tensors["c"]
        loss = loss + torch.nn.functional.cross_entropy(z, torch.tensor(targets[:, t]), reduction="sum")
    (loss / 3).backward()
    for name in rnn.PARAM_NAMES:
        assert relative_error(grads[name], tensors[name].grad.numpy()) < 1e-8, name


def test_loss_for_batch_one_is_the_summed_cross_entropy() -> None:
    params = perturbed_params(0)
    inputs, targets = np.array([[1, 2, 3]]), np.array([[2, 3, 4]])
    cache = reference.forward(params, inputs)
    y = numerics.softmax(cache.z[:, 0, :])
    expected = -np.log(y[0, 2]) - np.log(y[1, 3]) - np.log(y[2, 4])
    assert reference.loss(cache, targets) == pytest.approx(expected, rel=1e-12)
    assert rnn.loss_and_grads(params, inputs, targets)[0] == pytest.approx(expected, rel=1e-12)


def test_batch_loss_is_the_mean_of_the_sequences_losses() -> None:
    params = perturbed_params(1)
    inputs, targets = batch_of(4, 3, seed=9)
    batch_loss, batch_grads = rnn.loss_and_grads(params, inputs, targets)
    singles = [rnn.loss_and_grads(params, inputs[i : i + 1], targets[i : i + 1]) for i in range(3)]
    assert batch_loss == pytest.approx(np.mean([loss for loss, _ in singles]), rel=1e-12)
    for name in rnn.PARAM_NAMES:
        mean_grad = np.mean([grads[name] for _, grads in singles], axis=0)
        np.testing.assert_allclose(batch_grads[name], mean_grad, rtol=1e-10, atol=1e-14)
