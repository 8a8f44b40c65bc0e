"""minGRU and minLSTM (Feng et al., 2024, "Were RNNs All We Needed?"): the GRU and the LSTM with
every gate computed from the input x_t alone, so that training runs as a parallel scan.

    minGRU:   z_t = σ(x_t W_z + b_z),  h̃_t = x_t W_h + b_h,
              h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
    minLSTM:  f_t = σ(x_t W_f + b_f),  i_t = σ(x_t W_i + b_i),  h̃_t = x_t W_h + b_h,
              h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t  with  f' = f / (f + i),  i' = i / (f + i)

Both are h_t = a_t ⊙ h_{t-1} + b_t with (a_t, b_t) known for all steps at once, which
:func:`course_lib.scan.linear_recurrence` evaluates in parallel (or sequentially). At inference
``step(x_t, state)`` advances one token with a constant-size state, like any RNN. Compared with
the real GRU/LSTM they lose the state's influence on the gates (no h_{t-1} inside σ) and the
tanh on the candidate; depth (stacking layers) restores some of the lost expressiveness.

Inputs (batch, time, features); an optional mask (batch, time) keeps the state unchanged at
masked steps (a = 1, b = 0). Output (batch, time, units), or (batch, units) for the last state
when ``return_sequences=False``.
"""

from __future__ import annotations

import keras
from keras import ops

from course_lib.scan import linear_recurrence

__all__ = ["MinGRU", "MinLSTM"]


class _MinimalRNN(keras.layers.Layer):
    """Shared machinery: one Dense projection of x_t to all gates, then a linear recurrence."""

    gates: int  # blocks of ``units`` in the input projection, set by each subclass

    def __init__(self, units: int, return_sequences: bool = True, parallel: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        self.units, self.return_sequences, self.parallel = units, return_sequences, parallel
        self.supports_masking = True
        self.projection = keras.layers.Dense(self.gates * units, name="projection")

    def build(self, input_shape):
        self.projection.build(tuple(input_shape))
        super().build(input_shape)

    def coefficients(self, x):
        """(a, b), each (..., units), of h_t = a ⊙ h_{t-1} + b for inputs x (..., features)."""
        raise NotImplementedError

    def call(self, inputs, mask=None, initial_state=None):
        a, b = self.coefficients(inputs)
        if mask is not None:  # a masked step keeps the state: a = 1, b = 0
            keep = ops.expand_dims(ops.cast(mask, a.dtype), -1)
            a, b = keep * a + (1 - keep), keep * b
        states = linear_recurrence(a, b, initial_state, parallel=self.parallel)
        return states if self.return_sequences else states[:, -1]

    def compute_output_shape(self, input_shape):
        batch, time = input_shape[0], input_shape[1]
        return (batch, time, self.units) if self.return_sequences else (batch, self.units)

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def step(self, x_t, state):
        """One token at inference: x_t (batch, features), state (batch, units) -> (output,
        state), both (batch, units)."""
        a, b = self.coefficients(ops.convert_to_tensor(x_t))
        state = a * ops.convert_to_tensor(state, a.dtype) + b
        return state, state

    def get_initial_state(self, batch_size: int):
        return ops.zeros((batch_size, self.units))

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "return_sequences": self.return_sequences, "parallel": self.parallel}


@keras.saving.register_keras_serializable(package="course_lib")
class MinGRU(_MinimalRNN):
    """minGRU: an update gate and a candidate, both from x_t (see the module docstring)."""

    gates = 2

    def coefficients(self, x):
        z, candidate = ops.split(self.projection(x), 2, axis=-1)
        z = ops.sigmoid(z)
        return 1 - z, z * candidate


@keras.saving.register_keras_serializable(package="course_lib")
class MinLSTM(_MinimalRNN):
    """minLSTM: forget and input gates normalised to sum to 1, and a candidate, all from x_t."""

    gates = 3

    def coefficients(self, x):
        forget, write, candidate = ops.split(self.projection(x), 3, axis=-1)
        forget, write = ops.sigmoid(forget), ops.sigmoid(write)
        total = forget + write
        return forget / total, write / total * candidate
