"""Linear recurrences, h_t = a_t ⊙ h_{t-1} + b_t, computed sequentially or by a parallel scan.

When a recurrent layer's gates depend on the input x_t only (not on h_{t-1}), its state update
is linear in the state: ``a_t`` (the decay or forget gate) and ``b_t`` (the input written) are
known for every step before the recurrence starts. Two steps then compose into one of the same
form,

    h_t = a_t ⊙ (a_{t-1} ⊙ h_{t-2} + b_{t-1}) + b_t = (a_t a_{t-1}) ⊙ h_{t-2} + (a_t b_{t-1} + b_t),

so the pairs (a, b) combine with the associative operator ``(a1, b1) ∘ (a2, b2) = (a1 a2,
a2 b1 + b2)`` (first the earlier step, then the later), and all T states follow from a parallel
prefix scan in O(log T) sequential rounds instead of T steps. That is how minGRU/minLSTM, the
LRU, S5 and Mamba train.

The parallel path is the Hillis–Steele scan (1986), written here with ``keras.ops``: in round
r every position combines with the one 2^r steps earlier, so after ceil(log2 T) rounds each
holds the composition of all steps up to it (O(T log T) work; Blelloch's 1990 scan needs only
O(T) work but twice the rounds). ``keras.ops.associative_scan`` computes the same, but on the
TensorFlow backend it fails to compile under XLA (Keras 3.15, TF 2.21: "Cannot concatenate
arrays that differ in dimensions"), and the course compiles with XLA on CPUs where it can. The
sequential path uses ``keras.ops.scan``; its gradient does not compile under XLA on the
TensorFlow backend (Keras' while loop has no maximum iteration count: "XLA compilation requires
a fixed tensor list size"), so train with ``parallel=True`` when ``jit_compile=True``.

Shapes: a, b (batch, time, units); h0 (batch, units) or None (zeros); result (batch, time,
units). Inside a traced graph the time axis must have a known length (Keras' TensorFlow scans
need it); an unknown one gets a clear error.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["combine", "linear_recurrence", "log_combine", "log_linear_recurrence"]


def combine(earlier, later):
    """The associative operator on (a, b) pairs: ``earlier`` then ``later`` as one step."""
    a1, b1 = earlier
    a2, b2 = later
    return a1 * a2, a2 * b1 + b2


def linear_recurrence(a, b, h0=None, *, parallel: bool = True):
    """All states of h_t = a_t ⊙ h_{t-1} + b_t, t = 1..T.

    Args:
        a, b: (batch, time, units) float tensors or arrays; a is usually in (0, 1).
        h0: (batch, units) initial state, or None for zeros.
        parallel: True for the Hillis–Steele scan (ceil(log2 T) rounds), False for a
            sequential ``keras.ops.scan`` (T steps). Both give the same states up to rounding.

    Returns:
        (batch, time, units) states h_1..h_T.
    """
    a, b = ops.copy(a), ops.copy(b)  # tensors, also from NumPy arrays or variables
    _check_shapes(a, b, h0)
    if h0 is not None:  # fold h0 into the first step: h_1 = a_1 h0 + b_1
        h0 = ops.cast(ops.convert_to_tensor(h0), b.dtype)
        b = ops.concatenate([b[:, :1] + a[:, :1] * h0[:, None], b[:, 1:]], axis=1)
    if a.shape[1] is None:
        raise ValueError(
            "linear_recurrence needs a known sequence length, and this tensor's time axis is "
            "unknown (a graph traced with shape (batch, None, units)): trace with a fixed "
            "length (fixed-length batches, or a tf.function input_signature with the length), "
            "or call it eagerly")
    if parallel:
        return _hillis_steele(a, b)
    time_major = (ops.moveaxis(a, 1, 0), ops.moveaxis(b, 1, 0))

    def step(h, inputs):
        a_t, b_t = inputs
        h = a_t * h + b_t
        return h, h

    _, states = ops.scan(step, ops.zeros_like(b[:, 0]), time_major)
    return ops.moveaxis(states, 0, 1)


def log_combine(earlier, later):
    """:func:`combine` in log space, for (log a, log b) pairs with a, b > 0:
    (la1 + la2, log(e^(la2 + lb1) + e^lb2))."""
    la1, lb1 = earlier
    la2, lb2 = later
    return la1 + la2, ops.logaddexp(la2 + lb1, lb2)


def log_linear_recurrence(log_a, log_b, log_h0=None):
    """log h_t for h_t = a_t ⊙ h_{t-1} + b_t with positive a, b (and h0), from log a and
    log b: the log-space scan that minGRU uses for long sequences. A state, a product of many
    gates or an input can be far below float32's smallest number (e^-104) or above its largest
    (e^88) and still be represented by its logarithm; sums become ``logaddexp``.

    Args:
        log_a, log_b: (batch, time, units); log_h0: (batch, units) or None (h0 = 0).

    Returns:
        (batch, time, units) log-states, computed by the same Hillis–Steele scan as
        :func:`linear_recurrence` (identity element (0, -inf)).
    """
    log_a, log_b = ops.copy(log_a), ops.copy(log_b)
    _check_shapes(log_a, log_b, log_h0)
    if log_h0 is not None:  # h_1 = a_1 h0 + b_1
        log_h0 = ops.cast(ops.convert_to_tensor(log_h0), log_b.dtype)
        first = ops.logaddexp(log_a[:, :1] + log_h0[:, None], log_b[:, :1])
        log_b = ops.concatenate([first, log_b[:, 1:]], axis=1)
    return _hillis_steele(log_a, log_b, log_combine, identity=(0.0, _LOG_ZERO))


_LOG_ZERO = -1e30  # log 0 for the scan's identity; finite, so no inf - inf in the gradients


def _hillis_steele(a, b, pair_combine=combine, identity=(1.0, 0.0)):
    """Inclusive scan of the pairs (a_t, b_t) along axis 1 under ``pair_combine``; returns the
    b part, the states. Round by round, position t absorbs the composition ending at
    t - offset (``identity`` before the start), doubling the span it covers."""
    offset, time = 1, a.shape[1]
    while offset < time:
        shift = [[0, 0], [offset, 0], [0, 0]]
        earlier = (ops.pad(a[:, :-offset], shift, constant_values=identity[0]),
                   ops.pad(b[:, :-offset], shift, constant_values=identity[1]))
        a, b = pair_combine(earlier, (a, b))
        offset *= 2
    return b


def _check_shapes(a, b, h0) -> None:
    if len(a.shape) != 3 or tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"expected a and b of the same shape (batch, time, units), got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if h0 is not None and tuple(keras.ops.shape(h0)) != (a.shape[0], a.shape[2]):
        raise ValueError(f"expected h0 of shape (batch, units) = {(a.shape[0], a.shape[2])}, "
                         f"got {tuple(keras.ops.shape(h0))}")
