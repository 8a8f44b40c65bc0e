"""Keras' ``SimpleRNN``, ``LSTM`` and ``GRU`` with a faster training kernel on the CPU.

On a GPU Keras trains LSTM and GRU with cuDNN's fused kernel. On a CPU it runs the generic loop:
every step multiplies that step's input by the kernel, and TensorFlow differentiates the loop
op by op, multiplying by the recurrent kernel twice per step on the way back (once for the
state's gradient, once for the kernel's). The layers here keep Keras' classes, arguments,
weights (names, shapes, gate order) and outputs, and on a CPU replace that loop by:

1. the input projections of all time steps in one matmul before the loop,
    ``(batch * time, features) @ (features, gates * units)``;
2. one matmul per step in the forward loop, ``h @ recurrent_kernel``, with the gates' pointwise
   work written out (one fused gate matrix, Keras' order: LSTM i, f, c, o; GRU z, r, h);
3. a hand-written backward pass (``tf.custom_gradient``): one matmul per step for the state's
   gradient, while the gradients of the kernel, recurrent kernel and bias are each one matmul
   (or sum) over all steps after the loop.

Where the kernel does not apply — a GPU (cuDNN is used), a padding mask, recurrent dropout,
``unroll=True``, other activations, no bias, GRU with ``reset_after=False``, ``use_cudnn=True``,
another backend — the layer runs Keras' own code unchanged. The tests check outputs, final
states and every gradient against ``keras.layers.*`` on the same weights.

Measured, the kernel pays off for SimpleRNN and GRU; the LSTM has it, tested, but uses it only
when asked (``cpu_kernel=True``); see :data:`CPU_KERNEL_BY_DEFAULT`. The course's models
(:func:`course_lib.models.recurrent_layer`) are built from these classes.
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf
from keras import activations

__all__ = ["SimpleRNN", "LSTM", "GRU", "LAYERS", "CPU_KERNEL_BY_DEFAULT", "uses_cpu_kernel"]


def _on_gpu() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


#: Whether each class uses the CPU kernel when ``cpu_kernel`` is not given: where it trains faster
#: than Keras' own loop under the settings :func:`course_lib.training.choose_fast_path` picks for
#: each (the kernel keeps XLA; Keras' LSTM/GRU loop runs without it). Measured on the course's
#: 2-core Xeon (oneDNN on), one variant per process, stall-free input, median of 5 epochs,
#: samples/s, Keras' loop vs the kernel (2026-12): SimpleRNN 64 13,270 vs 13,121 (equal; without
#: XLA, 8,548 vs 12,093), GRU 128 3,169 vs 4,024, LSTM 128 1,877 vs 1,444, char-LM (LSTM 256)
#: 508 vs 534. The LSTM keeps Keras' loop. At 128 units, T 100, batch 64, the kernel's forward
#: loop takes as long as Keras' (18 ms), but its backward (loop 19 ms, then the recurrent kernel's
#: and the inputs' gradients, 8 ms) exceeds TensorFlow's differentiated loop (~20 ms): about
#: 45 ms a batch against 36-38. Writing the (batch, 4 units) gates every step costs the forward
#: loop ~6 ms of them.
CPU_KERNEL_BY_DEFAULT = {"SimpleRNN": True, "LSTM": False, "GRU": True}


def uses_cpu_kernel(layer: keras.layers.RNN, mask=None) -> bool:
    """Whether ``layer`` (one of this module's classes) trains with the CPU kernel here."""
    cell = layer.cell
    return (isinstance(layer, (SimpleRNN, LSTM, GRU)) and layer.cpu_kernel
            and keras.backend.backend() == "tensorflow" and not _on_gpu()
            and mask is None and not layer.unroll and not cell.recurrent_dropout
            and getattr(layer, "use_cudnn", "auto") is not True and cell.use_bias
            and cell.activation is activations.tanh
            and getattr(cell, "recurrent_activation", activations.sigmoid)
            is activations.sigmoid
            and getattr(cell, "reset_after", True))


# ------------------------------------------------------------------------------------------
# kernels: time-major tensors, x (time, batch, features), states (batch, units)
# ------------------------------------------------------------------------------------------

def _compiled(function):
    """``function`` as one XLA computation per input shape (the loops below: XLA fuses each
    step's pointwise work around its matmul, where TensorFlow's graph runs every op alone).
    Its inputs are cut from the tape: the custom gradients below differentiate it."""
    compiled = tf.function(function, jit_compile=True, reduce_retracing=True)

    @functools.wraps(function)
    def call(*tensors):
        return compiled(*[tf.stop_gradient(tensor) for tensor in tensors])
    return call


def _project(x, kernel, bias):
    """(time, batch, features) @ (features, n) + bias -> (time, batch, n), one matmul."""
    time, batch = tf.shape(x)[0], tf.shape(x)[1]
    flat = tf.matmul(tf.reshape(x, [-1, tf.shape(x)[2]]), kernel) + bias
    return tf.reshape(flat, [time, batch, tf.shape(kernel)[1]])


def _flat_matmul(a, b):
    """(time, batch, m)ᵀ-contract (time, batch, n) over time and batch -> (m, n), one matmul."""
    return tf.matmul(tf.reshape(a, [-1, tf.shape(a)[2]]), tf.reshape(b, [-1, tf.shape(b)[2]]),
                     transpose_a=True)


def _input_gradients(x, dz, kernel):
    """Gradients of the inputs (time, batch, features), kernel and input bias from the
    pre-activation gradients ``dz`` (time, batch, n) of every step."""
    flat_dz = tf.reshape(dz, [-1, tf.shape(dz)[2]])
    dx = tf.reshape(tf.matmul(flat_dz, kernel, transpose_b=True), tf.shape(x))
    return dx, _flat_matmul(x, dz), tf.reduce_sum(flat_dz, axis=0)


def _previous(first, states):
    """(time, batch, units): the state each step started from."""
    return tf.concat([first[None], states[:-1]], axis=0)


def _zeros_if_none(gradient, like):
    return tf.zeros_like(like) if gradient is None else gradient


def _scan(step, initial, sequences, outputs: int, reverse: bool = False):
    """Run ``step(*carry, *slices) -> (*carry, *outputs)`` over the time steps of
    ``sequences`` (tensors (time, ...)), first to last or back, where ``slices`` are the
    sequences' entries at that step; returns (*final carry, *stacked outputs (time, ...)).

    Each step's slices reach it through the loop's state, read one step ahead at the end of
    the step before: left inside the step, XLA fuses every ``sequence[t]`` into the pointwise
    work that uses it, and on a CPU those fused reads cost about as much as the step's matmul
    (LSTM 128, batch 64, 100 steps: backward loop 23.3 -> 18.2 ms; the forward loop stayed
    ~17 ms, most of the saving there going to writing its three outputs).
    """
    time = tf.shape(sequences[0])[0]
    first, last = (time - 1, 0) if reverse else (0, time - 1)
    arrays = tuple(tf.TensorArray(initial[0].dtype, size=time) for _ in range(outputs))
    carries, inputs = len(initial), len(sequences)

    def body(t, *values):
        slices = values[carries:carries + inputs]
        results = step(*values[:carries], *slices)
        written = [array.write(t, value) for array, value in
                   zip(values[carries + inputs:], results[carries:], strict=True)]
        following = t - 1 if reverse else t + 1
        ahead = tf.clip_by_value(following, 0, time - 1)
        return (following, *results[:carries], *[sequence[ahead] for sequence in sequences],
                *written)

    final = tf.while_loop(lambda t, *_: (t >= last) if reverse else (t <= last), body,
                          (first, *initial, *[sequence[first] for sequence in sequences],
                           *arrays),
                          maximum_iterations=time)
    return (*final[1:1 + carries],
            *[array.stack() for array in final[1 + carries + inputs:]])


@_compiled
def _simple_rnn_forward(inputs, h0, recurrent_kernel):
    def step(h, x):
        h = tf.tanh(x + tf.matmul(h, recurrent_kernel))
        return h, h
    return _scan(step, (h0,), (inputs,), outputs=1)


@_compiled
def _simple_rnn_backward(states, d_states, d_h, recurrent_kernel):
    def step(dh, state, d_state):
        dpre = (dh + d_state) * (1.0 - tf.square(state))
        return tf.matmul(dpre, recurrent_kernel, transpose_b=True), dpre
    return _scan(step, (d_h,), (states, d_states), outputs=1, reverse=True)


@tf.custom_gradient
def _simple_rnn(x, h0, kernel, recurrent_kernel, bias):
    """h_t = tanh(x_t W + b + h_{t-1} U). Returns (states (time, batch, units), h_T)."""
    h, states = _simple_rnn_forward(_project(x, kernel, bias), h0, recurrent_kernel)

    def grad(d_states, d_h):
        dh0, dz = _simple_rnn_backward(states, _zeros_if_none(d_states, states),
                                       _zeros_if_none(d_h, h), recurrent_kernel)
        dx, dkernel, dbias = _input_gradients(x, dz, kernel)
        return dx, dh0, dkernel, _flat_matmul(_previous(h0, states), dz), dbias

    return (states, h), grad


@_compiled
def _lstm_forward(inputs, h0, c0, recurrent_kernel):
    def step(h, c, x):
        z = x + tf.matmul(h, recurrent_kernel)
        i, f, g, o = tf.split(z, 4, axis=1)
        i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return h, c, h, c, tf.concat([i, f, g, o], axis=1)
    return _scan(step, (h0, c0), (inputs,), outputs=3)


@_compiled
def _lstm_backward(cells, gates, c0, d_states, d_h, d_c, recurrent_kernel):
    previous_cells = _previous(c0, cells)

    def step(dh, dc, gate, cell, previous_cell, d_state):
        i, f, g, o = tf.split(gate, 4, axis=1)
        tanh_c = tf.tanh(cell)
        dh = dh + d_state
        dc = dc + dh * o * (1.0 - tf.square(tanh_c))
        dpre = tf.concat([dc * g * i * (1.0 - i), dc * previous_cell * f * (1.0 - f),
                          dc * i * (1.0 - tf.square(g)), dh * tanh_c * o * (1.0 - o)], axis=1)
        return tf.matmul(dpre, recurrent_kernel, transpose_b=True), dc * f, dpre
    return _scan(step, (d_h, d_c), (gates, cells, previous_cells, d_states), outputs=1,
                 reverse=True)


@tf.custom_gradient
def _lstm(x, h0, c0, kernel, recurrent_kernel, bias):
    """Keras' LSTM (gates i, f, c, o; sigmoid gates, tanh cell). Returns (states, h_T, c_T)."""
    h, c, states, cells, gates = _lstm_forward(_project(x, kernel, bias), h0, c0,
                                               recurrent_kernel)

    def grad(d_states, d_h, d_c):
        dh0, dc0, dz = _lstm_backward(cells, gates, c0, _zeros_if_none(d_states, states),
                                      _zeros_if_none(d_h, h), _zeros_if_none(d_c, c),
                                      recurrent_kernel)
        dx, dkernel, dbias = _input_gradients(x, dz, kernel)
        return dx, dh0, dc0, dkernel, _flat_matmul(_previous(h0, states), dz), dbias

    return (states, h, c), grad


@_compiled
def _gru_forward(inputs, h0, recurrent_kernel, recurrent_bias):
    def step(h, x):
        x_z, x_r, x_h = tf.split(x, 3, axis=1)
        r_z, r_r, r_h = tf.split(tf.matmul(h, recurrent_kernel) + recurrent_bias, 3, axis=1)
        z, r = tf.sigmoid(x_z + r_z), tf.sigmoid(x_r + r_r)
        candidate = tf.tanh(x_h + r * r_h)
        h = z * h + (1.0 - z) * candidate
        return h, h, tf.concat([z, r, candidate, r_h], axis=1)
    return _scan(step, (h0,), (inputs,), outputs=2)


@_compiled
def _gru_backward(previous, gates, d_states, d_h, recurrent_kernel):
    def step(dh, gate, previous_state, d_state):
        z, r, candidate, r_h = tf.split(gate, 4, axis=1)
        dh = dh + d_state
        d_candidate = dh * (1.0 - z) * (1.0 - tf.square(candidate))
        d_z = dh * (previous_state - candidate) * z * (1.0 - z)
        d_r = d_candidate * r_h * r * (1.0 - r)
        d_recurrent = tf.concat([d_z, d_r, d_candidate * r], axis=1)
        dh_previous = dh * z + tf.matmul(d_recurrent, recurrent_kernel, transpose_b=True)
        return dh_previous, tf.concat([d_z, d_r, d_candidate], axis=1), d_recurrent
    return _scan(step, (d_h,), (gates, previous, d_states), outputs=2, reverse=True)


@tf.custom_gradient
def _gru(x, h0, kernel, recurrent_kernel, bias):
    """Keras' GRU with ``reset_after=True`` (gates z, r, h; bias (2, 3 units): input and
    recurrent). Returns (states, h_T)."""
    h, states, gates = _gru_forward(_project(x, kernel, bias[0]), h0, recurrent_kernel, bias[1])

    def grad(d_states, d_h):
        previous = _previous(h0, states)
        dh0, d_inputs, d_recurrent = _gru_backward(
            previous, gates, _zeros_if_none(d_states, states), _zeros_if_none(d_h, h),
            recurrent_kernel)
        dx, dkernel, dbias_input = _input_gradients(x, d_inputs, kernel)
        dbias = tf.stack([dbias_input, tf.reduce_sum(d_recurrent, axis=[0, 1])])
        return dx, dh0, dkernel, _flat_matmul(previous, d_recurrent), dbias

    return (states, h), grad


# ------------------------------------------------------------------------------------------
# layers
# ------------------------------------------------------------------------------------------

class _CpuKernel:
    """Mixin: ``inner_loop`` runs the CPU kernel where it applies, Keras' code elsewhere.

    ``cpu_kernel``: use the kernel where it applies (``None``: this class's entry in
    :data:`CPU_KERNEL_BY_DEFAULT`); saved in the layer's config.
    """

    _kernel = None  # the function above for this cell

    def __init__(self, *args, cpu_kernel: bool | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cpu_kernel = (CPU_KERNEL_BY_DEFAULT[type(self).__name__] if cpu_kernel is None
                           else bool(cpu_kernel))

    def get_config(self) -> dict:
        return {**super().get_config(), "cpu_kernel": self.cpu_kernel}

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """What Keras' ``inner_loop`` returns: (last output (batch, units), outputs (batch,
        time, units) — or (batch, 1, units) without ``return_sequences`` — final states)."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not uses_cpu_kernel(self, mask):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        dtype = sequences.dtype
        if training and self.cell.dropout:
            keep = self.cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * keep[:, None, :]
        x = tf.transpose(sequences, [1, 0, 2])
        if self.go_backwards:
            x = tf.reverse(x, axis=[0])
        weights = [tf.cast(w, dtype) for w in (self.cell.kernel, self.cell.recurrent_kernel,
                                               self.cell.bias)]
        states, *final = type(self)._kernel(x, *[tf.cast(s, dtype) for s in initial_state],
                                            *weights)
        last = states[-1]
        outputs = (tf.transpose(states, [1, 0, 2]) if self.return_sequences
                   else last[:, None, :])
        return last, outputs, list(final)


@keras.saving.register_keras_serializable(package="course_lib")
class SimpleRNN(_CpuKernel, keras.layers.SimpleRNN):
    """``keras.layers.SimpleRNN`` with the CPU kernel of :mod:`course_lib.recurrent`."""

    _kernel = staticmethod(_simple_rnn)


@keras.saving.register_keras_serializable(package="course_lib")
class LSTM(_CpuKernel, keras.layers.LSTM):
    """``keras.layers.LSTM`` with the CPU kernel of :mod:`course_lib.recurrent` (cuDNN on a
    GPU, as Keras)."""

    _kernel = staticmethod(_lstm)


@keras.saving.register_keras_serializable(package="course_lib")
class GRU(_CpuKernel, keras.layers.GRU):
    """``keras.layers.GRU`` with the CPU kernel of :mod:`course_lib.recurrent` (cuDNN on a GPU,
    as Keras)."""

    _kernel = staticmethod(_gru)


LAYERS = {"simple_rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
