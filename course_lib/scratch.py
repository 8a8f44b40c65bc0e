"""Recurrent networks in plain NumPy, with weights in the exact layout of the Keras layers, so
that a notebook can load ``layer.get_weights()`` and compare number for number.

``keras.layers.SimpleRNN`` computes, for inputs x_t of shape (batch, features):

    h_t = tanh(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)

with kernel (features, units), recurrent_kernel (units, units) and bias (units,) — the row-vector
convention, i.e. the transpose of the textbook W_xh · x_t.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Activation = Callable[[np.ndarray], np.ndarray]


def _check_rnn_shapes(x, h0, kernel, recurrent_kernel, bias) -> None:
    if x.ndim != 3:
        raise ValueError(f"expected x of shape (batch, time, features), got {x.shape}")
    features, units = kernel.shape
    if x.shape[2] != features:
        raise ValueError(
            f"x has {x.shape[2]} features but kernel expects {features}: kernel shape "
            f"{kernel.shape} is (features, units)"
        )
    if recurrent_kernel.shape != (units, units):
        raise ValueError(
            f"expected recurrent_kernel of shape ({units}, {units}), got {recurrent_kernel.shape}"
        )
    if bias.shape != (units,):
        raise ValueError(f"expected bias of shape ({units},), got {bias.shape}")
    if h0.shape != (x.shape[0], units):
        raise ValueError(
            f"expected h0 of shape (batch, units) = {(x.shape[0], units)}, got {h0.shape}"
        )


def rnn_step(
    x_t: np.ndarray,
    h_prev: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    activation: Activation = np.tanh,
) -> np.ndarray:
    """One step: x_t (batch, features), h_prev (batch, units) -> h_t (batch, units)."""
    return activation(x_t @ kernel + h_prev @ recurrent_kernel + bias)


def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray | None,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    activation: Activation = np.tanh,
) -> np.ndarray:
    """Run a SimpleRNN over a whole sequence.

    Args:
        x: (batch, time, features) inputs.
        h0: (batch, units) initial state, or None for zeros (Keras' default).
        kernel, recurrent_kernel, bias: ``keras.layers.SimpleRNN(...).get_weights()``.
        activation: elementwise nonlinearity (tanh in Keras' default).

    Returns:
        (batch, time, units) hidden states h_1 … h_T (``return_sequences=True`` in Keras).
    """
    x = np.asarray(x)
    if h0 is None:
        h0 = np.zeros((x.shape[0], kernel.shape[1]), dtype=x.dtype)
    _check_rnn_shapes(x, h0, kernel, recurrent_kernel, bias)
    states, h = [], h0
    for t in range(x.shape[1]):
        h = rnn_step(x[:, t], h, kernel, recurrent_kernel, bias, activation)
        states.append(h)
    return np.stack(states, axis=1)
