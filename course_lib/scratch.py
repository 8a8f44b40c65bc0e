"""Recurrent networks in plain NumPy, with weights in the exact layout of the Keras layers, so
that a notebook can load ``layer.get_weights()`` and compare number for number.

``keras.layers.SimpleRNN`` computes, for inputs x_t of shape (batch, features):

    h_t = tanh(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)

with kernel (features, units), recurrent_kernel (units, units) and bias (units,) — the row-vector
convention, i.e. the transpose of the textbook W_xh · x_t.

Backpropagation through time (:func:`rnn_backward`) walks the same loop backwards. With
a_t = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias and h_t = f(a_t):

    dh_t = dL/dh_t (direct) + da_{t+1} @ recurrent_kernel.T      (gradient arriving at h_t)
    da_t = dh_t * f'(a_t)                                        (tanh: 1 - h_t**2)
    dkernel += x_t.T @ da_t,  drecurrent += h_{t-1}.T @ da_t,  dbias += sum(da_t)
    dx_t = da_t @ kernel.T,   dh_0 = da_1 @ recurrent_kernel.T
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ACTIVATIONS", "rnn_step", "rnn_forward", "RNNGradients", "rnn_backward",
    "numerical_gradient", "relative_error", "scale_to_spectral_radius",
    "last_step_gradient_norms", "lstm_gates", "lstm_step", "lstm_forward", "LSTMGradients",
    "lstm_backward", "gru_step", "gru_forward", "gru_backward", "linear_recurrence",
]

# name -> (f(a), f'(a) written in terms of h = f(a))
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (np.tanh, lambda h: 1.0 - h**2),
    "linear": (lambda a: a, np.ones_like),
}


def _activation(name: str) -> tuple[Callable, Callable]:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


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
    activation: str = "tanh",
) -> np.ndarray:
    """One step: x_t (batch, features), h_prev (batch, units) -> h_t (batch, units)."""
    return _activation(activation)[0](x_t @ kernel + h_prev @ recurrent_kernel + bias)


def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray | None,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    activation: str = "tanh",
) -> np.ndarray:
    """Run a SimpleRNN over a whole sequence.

    Args:
        x: (batch, time, features) inputs.
        h0: (batch, units) initial state, or None for zeros (Keras' default).
        kernel, recurrent_kernel, bias: ``keras.layers.SimpleRNN(...).get_weights()``.
        activation: ``"tanh"`` (Keras' default) or ``"linear"`` (identity).

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


@dataclass
class RNNGradients:
    """Gradients of a loss with respect to everything a SimpleRNN forward pass touched.

    Shapes: kernel (features, units), recurrent_kernel (units, units), bias (units,),
    x (batch, time, features), h0 (batch, units), states (batch, time, units) — the total
    gradient arriving at each h_t, direct and through later steps.
    """

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    x: np.ndarray
    h0: np.ndarray
    states: np.ndarray


def rnn_backward(
    d_states: np.ndarray,
    x: np.ndarray,
    h0: np.ndarray | None,
    states: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    activation: str = "tanh",
    truncate: int | None = None,
    chunk: int | None = None,
) -> RNNGradients:
    """Backpropagation through time for :func:`rnn_forward`.

    Args:
        d_states: (batch, time, units) dL/dh_t from the loss directly (e.g. through a readout);
            zeros at steps the loss does not look at.
        x, h0: the forward pass' inputs (h0 None means zeros); states: its output (batch, time,
            units); kernel, recurrent_kernel: its weights (the bias is not needed).
        activation: the forward pass' activation, ``"tanh"`` or ``"linear"``.
        truncate: BPTT(k): the gradient injected at step t flows back through at most k cell
            applications (steps t, t-1, ..., t-k+1). None (or k >= time) is full BPTT.
        chunk: chunked truncation, what stateful training on windows of ``chunk`` steps does:
            the sequence is cut into chunks (steps 0..chunk-1, chunk..2*chunk-1, ...), the
            state is carried across a border but its gradient is not, so the loss at the j-th
            step of a chunk (j = 1..chunk) reaches back j steps only. One sweep: O(time).
            Not combined with ``truncate``.

    Returns:
        :class:`RNNGradients` in Keras' weight layout.
    """
    x = np.asarray(x)
    batch, time, _ = x.shape
    if h0 is None:
        h0 = np.zeros((batch, kernel.shape[1]), dtype=states.dtype)
    if d_states.shape != states.shape:
        raise ValueError(
            f"expected d_states of shape (batch, time, units) = {states.shape}, "
            f"got {d_states.shape}"
        )
    for name, value in (("truncate", truncate), ("chunk", chunk)):
        if value is not None and value < 1:
            raise ValueError(f"expected {name} >= 1 (or None for full BPTT), got {value}")
    if truncate is not None and chunk is not None:
        raise ValueError("pass truncate (BPTT(k) per loss) or chunk (chunked truncation), "
                         "not both")
    derivative = _activation(activation)[1](states)  # f'(a_t), (batch, time, units)
    if chunk is not None:
        d_h, d_pre = _full_bptt(d_states, derivative, recurrent_kernel, cut_every=chunk)
    elif truncate is None or truncate >= time:
        d_h, d_pre = _full_bptt(d_states, derivative, recurrent_kernel)
    else:
        d_h, d_pre = _truncated_bptt(d_states, derivative, recurrent_kernel, truncate)
    previous = np.concatenate([h0[:, None], states[:, :-1]], axis=1)  # h_{t-1}
    return RNNGradients(
        kernel=np.einsum("btf,btu->fu", x, d_pre),
        recurrent_kernel=np.einsum("btv,btu->vu", previous, d_pre),
        bias=d_pre.sum(axis=(0, 1)),
        x=d_pre @ kernel.T,
        h0=d_pre[:, 0] @ recurrent_kernel.T,
        states=d_h,
    )


def _full_bptt(d_states, derivative, recurrent_kernel, cut_every=None):
    """One backward sweep. Returns (dL/dh_t, dL/da_t), each (batch, time, units).
    With ``cut_every`` = c, nothing flows from step t back to t - 1 when t is a multiple of c."""
    d_h, d_pre = np.zeros_like(d_states), np.zeros_like(d_states)
    from_later = np.zeros_like(d_states[:, 0])
    for t in reversed(range(d_states.shape[1])):
        d_h[:, t] = d_states[:, t] + from_later
        d_pre[:, t] = d_h[:, t] * derivative[:, t]
        cut = cut_every is not None and t % cut_every == 0
        from_later = np.zeros_like(from_later) if cut else d_pre[:, t] @ recurrent_kernel.T
    return d_h, d_pre


def _truncated_bptt(d_states, derivative, recurrent_kernel, window):
    """BPTT(k): each step's injected gradient walks back ``window`` steps, no further.
    Costs time x window matrix products instead of time."""
    d_h, d_pre = np.zeros_like(d_states), np.zeros_like(d_states)
    for t in range(d_states.shape[1]):
        gradient = d_states[:, t]
        for s in range(t, max(t - window, -1), -1):
            d_h[:, s] += gradient
            d_pre_s = gradient * derivative[:, s]
            d_pre[:, s] += d_pre_s
            gradient = d_pre_s @ recurrent_kernel.T
    return d_h, d_pre


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (f(a + eps) - f(a - eps)) / 2 eps for every entry of ``array``.

    ``array`` is perturbed in place and restored; ``f`` takes no arguments and must read it.
    Use float64: in float32 the rounding error swamps the difference.
    """
    gradient = np.zeros_like(array, dtype=np.float64)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = f()
        array[index] = original - eps
        minus = f()
        array[index] = original
        gradient[index] = (plus - minus) / (2 * eps)
    return gradient


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(|a| + |b|): scale-free, 0 for equal arrays (and for two zeros)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.max(np.abs(a) + np.abs(b))
    return 0.0 if scale == 0 else float(np.max(np.abs(a - b)) / scale)


def scale_to_spectral_radius(matrix: np.ndarray, radius: float) -> np.ndarray:
    """``matrix`` (units, units) rescaled so that its largest |eigenvalue| equals ``radius``."""
    current = np.max(np.abs(np.linalg.eigvals(matrix)))
    return matrix * (radius / current)


def last_step_gradient_norms(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    activation: str = "tanh",
    cell: str = "simple_rnn",
    wrt: str = "state",
) -> np.ndarray:
    """Gradient norms per step when the loss looks only at the last output, L = Σ h_T.

    Args:
        x: (batch, time, features) inputs; the run starts from zero states.
        kernel, recurrent_kernel, bias: weights in the Keras layout of ``cell``.
        activation: for ``cell="simple_rnn"``: ``"tanh"`` or ``"linear"``.
        cell: ``"simple_rnn"`` or ``"lstm"``.
        wrt: ``"state"`` for ‖dL/dh_t‖, or ``"input"`` for ‖dL/dx_t‖ — how much the input at
            step t can still move the loss; comparable across cell types.

    Returns:
        (time,) gradient norms, averaged over the batch. Their decay (or growth) from t = T
        back to t = 1 is what "vanishing" (or "exploding") gradients means.
    """
    if wrt not in ("state", "input"):
        raise ValueError(f"unknown wrt {wrt!r}; choose state or input")
    if cell == "lstm":
        hidden, cells = lstm_forward(x, None, None, kernel, recurrent_kernel, bias)
        d_hidden = np.zeros_like(hidden)
        d_hidden[:, -1] = 1.0
        grads = lstm_backward(d_hidden, x, None, None, hidden, cells, kernel, recurrent_kernel,
                              bias)
        total = grads.hidden if wrt == "state" else grads.x
    elif cell == "simple_rnn":
        states = rnn_forward(x, None, kernel, recurrent_kernel, bias, activation)
        d_states = np.zeros_like(states)
        d_states[:, -1] = 1.0
        grads = rnn_backward(d_states, x, None, states, kernel, recurrent_kernel, activation)
        total = grads.states if wrt == "state" else grads.x
    else:
        raise ValueError(f"unknown cell {cell!r}; choose simple_rnn or lstm")
    return np.linalg.norm(total, axis=-1).mean(axis=0)


# --------------------------------------------------------------------------------------------
# LSTM (keras.layers.LSTM layout: gates i, f, c, o side by side in the last axis)
# --------------------------------------------------------------------------------------------
#
#   z_t = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias          (batch, 4·units)
#   i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);   g = tanh(z_c)
#   c_t = f * c_{t-1} + i * g;                              h_t = o * tanh(c_t)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow


def lstm_gates(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split pre-activations z (batch, 4·units) into gate values (i, f, g, o) in Keras order."""
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    return _sigmoid(z_i), _sigmoid(z_f), np.tanh(z_c), _sigmoid(z_o)


def lstm_step(
    x_t: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step: x_t (batch, features), h_prev and c_prev (batch, units) -> (h_t, c_t)."""
    i, f, g, o = lstm_gates(x_t @ kernel + h_prev @ recurrent_kernel + bias)
    c_t = f * c_prev + i * g
    return o * np.tanh(c_t), c_t


def _check_lstm_shapes(x, kernel, recurrent_kernel, bias) -> int:
    if x.ndim != 3:
        raise ValueError(f"expected x of shape (batch, time, features), got {x.shape}")
    units = recurrent_kernel.shape[0]
    expected = {"kernel": (x.shape[2], 4 * units), "recurrent_kernel": (units, 4 * units),
                "bias": (4 * units,)}
    for name, array in [("kernel", kernel), ("recurrent_kernel", recurrent_kernel),
                        ("bias", bias)]:
        if array.shape != expected[name]:
            raise ValueError(
                f"expected {name} of shape {expected[name]} (gates i, f, c, o side by side for "
                f"{units} units and {x.shape[2]} features), got {array.shape}"
            )
    return units


def lstm_forward(
    x: np.ndarray,
    h0: np.ndarray | None,
    c0: np.ndarray | None,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a Keras-layout LSTM over a sequence.

    Args:
        x: (batch, time, features); h0, c0: (batch, units) or None for zeros.
        kernel (features, 4·units), recurrent_kernel (units, 4·units), bias (4·units,):
            ``keras.layers.LSTM(...).get_weights()``.

    Returns:
        (hidden, cells): both (batch, time, units), h_1 … h_T and c_1 … c_T.
    """
    x = np.asarray(x)
    units = _check_lstm_shapes(x, kernel, recurrent_kernel, bias)
    zeros = np.zeros((x.shape[0], units), dtype=x.dtype)
    h, c = (zeros if h0 is None else h0), (zeros if c0 is None else c0)
    hidden, cells = [], []
    for t in range(x.shape[1]):
        h, c = lstm_step(x[:, t], h, c, kernel, recurrent_kernel, bias)
        hidden.append(h)
        cells.append(c)
    return np.stack(hidden, axis=1), np.stack(cells, axis=1)


@dataclass
class LSTMGradients:
    """Gradients for an LSTM forward pass, in Keras layout. ``hidden`` and ``cells`` hold the
    total gradient arriving at each h_t and c_t (batch, time, units)."""

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    hidden: np.ndarray
    cells: np.ndarray


def lstm_backward(
    d_hidden: np.ndarray,
    x: np.ndarray,
    h0: np.ndarray | None,
    c0: np.ndarray | None,
    hidden: np.ndarray,
    cells: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    d_cells: np.ndarray | None = None,
) -> LSTMGradients:
    """Backpropagation through time for :func:`lstm_forward`.

    Args:
        d_hidden: (batch, time, units) direct dL/dh_t; d_cells: optional direct dL/dc_t.
        x, h0, c0, kernel, recurrent_kernel, bias: the forward pass' inputs (h0/c0 None = zeros);
        hidden, cells: its outputs.
    """
    x = np.asarray(x)
    batch, time, units = hidden.shape
    zeros = np.zeros((batch, units), dtype=hidden.dtype)
    h0, c0 = (zeros if h0 is None else h0), (zeros if c0 is None else c0)
    previous_h = np.concatenate([h0[:, None], hidden[:, :-1]], axis=1)
    previous_c = np.concatenate([c0[:, None], cells[:, :-1]], axis=1)
    d_cells = np.zeros_like(cells) if d_cells is None else d_cells
    d_z = np.zeros((batch, time, 4 * units), dtype=hidden.dtype)
    total_h, total_c = np.zeros_like(hidden), np.zeros_like(cells)
    from_later_h, from_later_c = zeros, zeros
    for t in reversed(range(time)):
        i, f, g, o = lstm_gates(x[:, t] @ kernel + previous_h[:, t] @ recurrent_kernel + bias)
        total_h[:, t] = d_h = d_hidden[:, t] + from_later_h
        tanh_c = np.tanh(cells[:, t])
        total_c[:, t] = d_c = d_cells[:, t] + from_later_c + d_h * o * (1 - tanh_c**2)
        d_z[:, t] = np.concatenate([d_c * g * i * (1 - i),                   # input gate
                                    d_c * previous_c[:, t] * f * (1 - f),     # forget gate
                                    d_c * i * (1 - g**2),                     # candidate
                                    d_h * tanh_c * o * (1 - o)], axis=-1)     # output gate
        from_later_h = d_z[:, t] @ recurrent_kernel.T
        from_later_c = d_c * f
    return LSTMGradients(
        kernel=np.einsum("btf,btz->fz", x, d_z),
        recurrent_kernel=np.einsum("btu,btz->uz", previous_h, d_z),
        bias=d_z.sum(axis=(0, 1)),
        x=d_z @ kernel.T,
        h0=from_later_h,
        c0=from_later_c,
        hidden=total_h,
        cells=total_c,
    )


# --------------------------------------------------------------------------------------------
# GRU (keras.layers.GRU layout: gates z, r, h side by side in the last axis)
# --------------------------------------------------------------------------------------------
#
#   z_t = sigmoid(x_t W_z + h_{t-1} U_z + b_z)        update gate
#   r_t = sigmoid(x_t W_r + h_{t-1} U_r + b_r)        reset gate
#   reset_after=True  (default, cuDNN): h̃_t = tanh(x_t W_h + b_h + r_t * (h_{t-1} U_h + b2_h))
#   reset_after=False (original paper): h̃_t = tanh(x_t W_h + b_h + (r_t * h_{t-1}) U_h)
#   h_t = z_t * h_{t-1} + (1 - z_t) * h̃_t              (Keras' convention: z keeps the old state)
#
# With reset_after=True the bias has shape (2, 3·units): an input row and a recurrent row.


def _gru_biases(bias: np.ndarray, units: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(input_bias, recurrent_bias, reset_after) from a Keras GRU bias."""
    if bias.shape == (2, 3 * units):
        return bias[0], bias[1], True
    if bias.shape == (3 * units,):
        return bias, np.zeros(3 * units, dtype=bias.dtype), False
    raise ValueError(
        f"expected a GRU bias of shape (2, {3 * units}) (reset_after=True) or ({3 * units},) "
        f"(reset_after=False) for {units} units, got {bias.shape}"
    )


def _gru_parts(x_t, h_prev, kernel, recurrent_kernel, bias):
    """Everything one step computes: (z, r, candidate, from_input, from_state, reset_after)."""
    units = recurrent_kernel.shape[0]
    input_bias, recurrent_bias, reset_after = _gru_biases(bias, units)
    from_input = x_t @ kernel + input_bias                             # (batch, 3·units)
    from_state = h_prev @ recurrent_kernel + recurrent_bias            # (batch, 3·units)
    z = _sigmoid(from_input[:, :units] + from_state[:, :units])
    r = _sigmoid(from_input[:, units:2 * units] + from_state[:, units:2 * units])
    if reset_after:
        candidate = np.tanh(from_input[:, 2 * units:] + r * from_state[:, 2 * units:])
    else:
        candidate = np.tanh(from_input[:, 2 * units:]
                            + (r * h_prev) @ recurrent_kernel[:, 2 * units:])
    return z, r, candidate, from_input, from_state, reset_after


def gru_step(
    x_t: np.ndarray,
    h_prev: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> np.ndarray:
    """One GRU step: x_t (batch, features), h_prev (batch, units) -> h_t (batch, units)."""
    z, _, candidate, *_ = _gru_parts(x_t, h_prev, kernel, recurrent_kernel, bias)
    return z * h_prev + (1 - z) * candidate


def gru_forward(
    x: np.ndarray,
    h0: np.ndarray | None,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> np.ndarray:
    """Run a Keras-layout GRU over x (batch, time, features) from h0 (batch, units) or zeros.

    Weights: ``keras.layers.GRU(...).get_weights()``: kernel (features, 3·units),
    recurrent_kernel (units, 3·units), bias (2, 3·units) or (3·units,) for reset_after=False.

    Returns:
        (batch, time, units) states h_1 … h_T.
    """
    x = np.asarray(x)
    if x.ndim != 3 or kernel.shape != (x.shape[2], 3 * recurrent_kernel.shape[0]):
        raise ValueError(f"expected x (batch, time, features) and kernel (features, 3·units); "
                         f"got x {x.shape}, kernel {kernel.shape}")
    h = np.zeros((x.shape[0], recurrent_kernel.shape[0]), dtype=x.dtype) if h0 is None else h0
    states = []
    for t in range(x.shape[1]):
        h = gru_step(x[:, t], h, kernel, recurrent_kernel, bias)
        states.append(h)
    return np.stack(states, axis=1)


def gru_backward(
    d_states: np.ndarray,
    x: np.ndarray,
    h0: np.ndarray | None,
    states: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> RNNGradients:
    """Backpropagation through time for :func:`gru_forward` (either ``reset_after``).

    Returns :class:`RNNGradients` with ``bias`` in the layer's own shape.
    """
    x = np.asarray(x)
    batch, time, units = states.shape
    h0 = np.zeros((batch, units), dtype=states.dtype) if h0 is None else h0
    previous = np.concatenate([h0[:, None], states[:, :-1]], axis=1)
    d_kernel, d_recurrent = np.zeros_like(kernel), np.zeros_like(recurrent_kernel)
    d_input_bias, d_recurrent_bias = np.zeros(3 * units), np.zeros(3 * units)
    d_x, total = np.zeros_like(x), np.zeros_like(states)
    from_later = np.zeros((batch, units))
    u_h = recurrent_kernel[:, 2 * units:]
    for t in reversed(range(time)):
        h_prev = previous[:, t]
        z, r, candidate, _, from_state, reset_after = _gru_parts(x[:, t], h_prev, kernel,
                                                                 recurrent_kernel, bias)
        total[:, t] = d_h = d_states[:, t] + from_later
        d_candidate_pre = d_h * (1 - z) * (1 - candidate**2)
        d_z_pre = d_h * (h_prev - candidate) * z * (1 - z)
        d_h_prev = d_h * z
        if reset_after:
            d_r_pre = d_candidate_pre * from_state[:, 2 * units:] * r * (1 - r)
            d_state_part = np.concatenate([d_z_pre, d_r_pre, d_candidate_pre * r], axis=-1)
            d_recurrent += h_prev.T @ d_state_part
            d_recurrent_bias += d_state_part.sum(axis=0)
        else:
            d_reset_state = d_candidate_pre @ u_h.T                     # d(r * h_prev)
            d_r_pre = d_reset_state * h_prev * r * (1 - r)
            d_state_part = np.concatenate([d_z_pre, d_r_pre], axis=-1)
            d_recurrent[:, :2 * units] += h_prev.T @ d_state_part
            d_recurrent[:, 2 * units:] += (r * h_prev).T @ d_candidate_pre
            d_h_prev = d_h_prev + d_reset_state * r
        d_input_part = np.concatenate([d_z_pre, d_r_pre, d_candidate_pre], axis=-1)
        d_kernel += x[:, t].T @ d_input_part
        d_input_bias += d_input_part.sum(axis=0)
        d_x[:, t] = d_input_part @ kernel.T
        from_later = d_h_prev + d_state_part @ recurrent_kernel[:, :d_state_part.shape[1]].T
    d_bias = np.stack([d_input_bias, d_recurrent_bias]) if bias.ndim == 2 else d_input_bias
    return RNNGradients(kernel=d_kernel, recurrent_kernel=d_recurrent, bias=d_bias, x=d_x,
                        h0=from_later, states=total)


def linear_recurrence(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """NumPy reference loop for :func:`course_lib.scan.linear_recurrence`:
    h_t = a_t * h_{t-1} + b_t for a, b (batch, time, units), h0 (batch, units) or None (zeros);
    returns (batch, time, units)."""
    a, b = np.asarray(a), np.asarray(b)
    h = np.zeros_like(b[:, 0]) if h0 is None else np.asarray(h0, dtype=b.dtype)
    states = np.empty_like(b)
    for t in range(b.shape[1]):
        h = a[:, t] * h + b[:, t]
        states[:, t] = h
    return states
